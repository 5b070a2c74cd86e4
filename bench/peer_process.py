"""The Node.js peer issuer (``animo_issuer.mjs``) for same-run comparisons: a private copy, npm install, start, stop.

The peer's code and its node_modules never enter this repository: at run time the folder given by ``--peer-dir``
(default ``../shared/bench-peers`` next to the repository root) is copied to a temporary directory, ``npm install``
runs there, and the copy is removed afterwards. The peer binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from server_process import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PEER_DIR = REPO_ROOT.parent / "shared" / "bench-peers"
PEER_SCRIPT = "animo_issuer.mjs"


@dataclass
class Peer:
    base_url: str
    root_pid: int
    log_path: Path


@dataclass(frozen=True)
class PreparedPeer:
    directory: Path
    description: str  # node version and the resolved versions of the peer's direct dependencies


def _versions(directory: Path) -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
    wanted = json.loads((directory / "package.json").read_text()).get("dependencies", {})
    lock_path = directory / "package-lock.json"
    resolved: dict[str, str] = {}
    if lock_path.exists():
        packages = json.loads(lock_path.read_text()).get("packages", {})
        resolved = {name: packages.get(f"node_modules/{name}", {}).get("version", "?") for name in wanted}
    parts = [f"{name} {resolved.get(name, version)}" for name, version in sorted(wanted.items())]
    return f"node {node.strip()}; " + ", ".join(parts)


@contextmanager
def prepared_peer(source: Path) -> Iterator[PreparedPeer]:
    """Copy the peer from ``source`` (read-only) to a temporary directory and ``npm install`` it there."""
    if not (source / PEER_SCRIPT).is_file():
        raise SystemExit(f"no {PEER_SCRIPT} in {source} (use --peer-dir, or --no-peer)")
    directory = Path(tempfile.mkdtemp(prefix="bench-peer-"))
    try:
        shutil.copytree(source, directory, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules"))
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=directory, check=True, timeout=900
        )
        yield PreparedPeer(directory, _versions(directory))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/.well-known/openid-credential-issuer", timeout=1) as response:  # noqa: S310 (127.0.0.1)
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def running_peer(peer: PreparedPeer, cpus: str | None) -> Iterator[Peer]:
    """Start ``node animo_issuer.mjs PORT`` (pinned with ``taskset -c cpus``) and stop it afterwards."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = peer.directory / f"peer-{port}.log"
    command = ["taskset", "-c", cpus] if cpus else []
    command += ["node", PEER_SCRIPT, str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=peer.directory, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _ready(base_url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"peer did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.1)
        yield Peer(base_url, process.pid, log_path)
    except BaseException:
        print(f"--- peer log (tail) ---\n{log_path.read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
