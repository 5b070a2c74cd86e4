"""Real ``openissuer serve`` processes: SQLite on its own, and two processes sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from oi_server import admin_headers, running_server, server_env
from oi_testing import free_port

pytestmark = pytest.mark.slow


def test_serve_on_sqlite_answers_and_persists(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    with running_server(env) as base:
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        headers = admin_headers(base)
        created = httpx.post(f"{base}/v1/api-clients", headers=headers, json={"name": "kept", "roles": ["auditor"]})
        assert created.status_code == 201
    assert (tmp_path / "data" / "openissuer.db").exists()
    with running_server(env) as base:  # a restart keeps the data
        listed = httpx.get(f"{base}/v1/api-clients", headers=admin_headers(base)).json()["data"]
        assert "kept" in {c["name"] for c in listed}


@pytest.mark.postgres
def test_two_processes_share_one_postgres_database(tmp_path: Path, fresh_postgres_url: str) -> None:
    env = server_env(tmp_path, OPENISSUER_DATABASE_URL=fresh_postgres_url)
    with running_server(env) as first, running_server(env) as second:
        headers = admin_headers(first)  # a token from one process works on the other
        created = httpx.post(f"{first}/v1/api-clients", headers=headers, json={"name": "shared", "roles": ["issuer"]})
        assert created.status_code == 201
        client_id = created.json()["id"]
        seen = httpx.get(f"{second}/v1/api-clients/{client_id}", headers=headers)
        assert seen.status_code == 200
        assert seen.json()["name"] == "shared"
        assert httpx.delete(f"{second}/v1/api-clients/{client_id}", headers=headers).status_code == 204
        assert httpx.get(f"{first}/v1/api-clients/{client_id}", headers=headers).status_code == 404


@pytest.mark.postgres
def test_several_workers_on_postgres(tmp_path: Path, fresh_postgres_url: str) -> None:
    env = server_env(tmp_path, OPENISSUER_DATABASE_URL=fresh_postgres_url)
    with running_server(env, "--workers", "2") as base:
        headers = admin_headers(base)
        for _ in range(6):  # requests land on either worker; every one sees the same data
            assert httpx.get(f"{base}/v1/api-clients", headers=headers).status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        assert 'route="/v1/api-clients"' in metrics


def _processes_of(port: int) -> tuple[int, list[int]]:
    """The ``openissuer serve --port <port>`` process and its workers (children started by multiprocessing's
    ``spawn_main``; its resource tracker is another child), from /proc."""
    parent = next(
        int(pid)
        for pid in os.listdir("/proc")
        if pid.isdigit()
        and f"serve\0--port\0{port}\0".encode() in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b"\0")
    )
    children = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if (
            int(stat.rpartition(")")[2].split()[1]) == parent
            and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ):
            children.append(int(pid))
    return parent, children


def _tcp_sockets(port: int, state: str, local: bool) -> set[str]:
    """Inodes of the IPv4 TCP sockets in ``state`` (hex, /proc/net/tcp) whose local (or remote) port is ``port``."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address = fields[1] if local else fields[2]
        if fields[3] == state and int(address.rpartition(":")[2], 16) == port:
            found.add(fields[9])
    return found


def _owner(inodes: set[str], pids: list[int]) -> dict[str, int]:
    owners = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                owners[target[8:-1]] = pid
    return owners


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_each_worker_accepts_on_its_own_socket_and_connections_reach_both(tmp_path: Path) -> None:
    port = free_port()
    with running_server(server_env(tmp_path), "--workers", "2", port=port) as base:
        deadline = time.monotonic() + 30
        while True:  # ready means one worker answers; the other may still be starting
            parent, workers = _processes_of(port)
            owners = _owner(_tcp_sockets(port, "0A", local=True), [parent, *workers])
            if len(owners) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(workers) == 2
        assert sorted(owners.values()) == sorted(workers)  # one listening socket per worker, none in the parent
        clients = []
        try:
            for _ in range(16):  # new connections, each kept open: the kernel spreads them by their addresses
                client = httpx.Client(base_url=base, timeout=10)
                assert client.get("/ready").status_code == 200
                clients.append(client)
            established = _tcp_sockets(port, "01", local=True)
            assert set(_owner(established, workers).values()) == set(workers)  # 2 × 2**-16: all on one worker
        finally:
            for client in clients:
                client.close()


async def _claim_with_wallet(uri: str) -> list[str]:
    from oi_wallet import Wallet

    async with httpx.AsyncClient(timeout=30) as http:
        return await Wallet(http).claim(uri)


def test_demo_prints_credentials_that_obtain_a_token(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISSUER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "openissuer", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: dict[str, str] = {}
        deadline = time.monotonic() + 30
        while "offer_uri" not in lines and time.monotonic() < deadline:
            key, _, value = process.stdout.readline().partition(":")
            lines[key.strip()] = value.strip()
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        token = httpx.post(
            f"{base}/v1/auth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": lines["client_id"],
                "client_secret": lines["client_secret"],
            },
        )
        assert token.status_code == 200, token.text
        assert lines["portal_url"].split()[0] == f"{base}/portal/"
        portal = httpx.Client(base_url=base)
        sign_in_page = portal.get("/portal/sign-in")
        token_field = sign_in_page.text.split('name="csrf_token" value="')[1].split('"')[0]
        signed_in = portal.post(
            "/portal/sign-in",
            data={"client_id": lines["client_id"], "client_secret": lines["client_secret"], "csrf_token": token_field},
        )
        assert signed_in.status_code == 303 and portal.get("/portal/").status_code == 200
        assert (tmp_path / ".openissuer" / "openissuer.db").exists()
        credentials = asyncio.run(_claim_with_wallet(lines["offer_uri"]))
        assert len(credentials) == 1
    finally:
        process.terminate()
        process.wait(timeout=15)


async def _race_for_one_code(bases: list[str], attempts: int) -> list[httpx.Response]:
    """Create an offer through the first server, then redeem its code ``attempts`` times at once on all of them."""
    import asyncio
    import json as _json
    from urllib.parse import parse_qs, urlsplit

    headers = admin_headers(bases[0])
    iaca = httpx.post(f"{bases[0]}/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"}).json()
    httpx.put(f"{bases[0]}/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True})
    configuration = httpx.post(
        f"{bases[0]}/v2/credentials/mobile/configurations",
        headers=headers,
        json={
            "type": "org.example.race",
            "claimMappings": {"ns": {"a": {"defaultValue": "x"}}},
            "expiresIn": {"days": 1},
        },
    ).json()
    created = httpx.post(
        f"{bases[0]}/v1/openid/offers/pre-authorized", headers=headers, json={"credentials": [configuration["id"]]}
    ).json()
    offer = _json.loads(parse_qs(urlsplit(created["uri"]).query)["credential_offer"][0])
    code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": code}
    async with httpx.AsyncClient(timeout=30) as client:
        return await asyncio.gather(
            *(client.post(f"{bases[i % len(bases)]}/v1/oauth/token", data=form) for i in range(attempts))
        )


def _exactly_one_winner(responses: list[httpx.Response]) -> None:
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, statuses
    losers = [r for r in responses if r.status_code != 200]
    assert all(r.status_code == 400 and r.json()["error"] == "invalid_grant" for r in losers), [
        r.text for r in losers if r.status_code != 400
    ]


@pytest.mark.postgres
def test_concurrent_redemptions_on_four_processes_yield_one_token(tmp_path: Path, fresh_postgres_url: str) -> None:
    import asyncio
    from contextlib import ExitStack

    env = server_env(tmp_path, OPENISSUER_DATABASE_URL=fresh_postgres_url)
    with ExitStack() as stack:
        bases = [stack.enter_context(running_server(env)) for _ in range(4)]
        responses = asyncio.run(_race_for_one_code(bases, 50))
    _exactly_one_winner(responses)


def test_concurrent_redemptions_on_two_sqlite_processes_yield_one_token(tmp_path: Path) -> None:
    import asyncio
    from contextlib import ExitStack

    env = server_env(tmp_path)
    with ExitStack() as stack:
        bases = [stack.enter_context(running_server(env)) for _ in range(2)]
        responses = asyncio.run(_race_for_one_code(bases, 30))
    _exactly_one_winner(responses)


def test_concurrent_writes_on_sqlite_never_fail(tmp_path: Path) -> None:
    """Units of work that read then write must not fail with "database is locked" under concurrency."""
    import asyncio

    env = server_env(tmp_path)

    async def create_offers(base: str, configuration_id: str, headers: dict[str, str]) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"{base}/v1/openid/offers/pre-authorized",
                        headers=headers,
                        json={"credentials": [configuration_id], "claims": {"n": i}, "claimsToPersist": ["n"]},
                    )
                    for i in range(24)
                )
            )

    with running_server(env) as base:
        headers = admin_headers(base)
        configuration = httpx.post(
            f"{base}/v2/credentials/mobile/configurations",
            headers=headers,
            json={
                "type": "org.example.c",
                "claimMappings": {"ns": {"a": {"defaultValue": "x"}}},
                "expiresIn": {"days": 1},
            },
        ).json()
        responses = asyncio.run(create_offers(base, configuration["id"], headers))
    assert sorted({r.status_code for r in responses}) == [200], [r.text for r in responses if r.status_code != 200]


def test_wallet_flows_on_two_sqlite_processes_never_fail(tmp_path: Path) -> None:
    """The hot path's SQLite statements (sqlite3 on the event loop, async retries while busy) under concurrent
    flows from two processes on one file: every request succeeds, none sees "database is locked"."""
    import asyncio
    from urllib.parse import parse_qs, urlsplit

    from oi_wallet import PRE_AUTHORIZED_GRANT, make_proof, new_key

    public_url = "https://issuer.example"
    env = server_env(tmp_path, OPENISSUER_PUBLIC_URL=public_url, OPENISSUER_OFFER_MAX_TTL="3600")

    async def flow(client: httpx.AsyncClient, base: str, uri: str, configuration_id: str) -> list[int]:
        offer = json.loads(parse_qs(urlsplit(uri).query)["credential_offer"][0])
        code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
        form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code}
        token = await client.post(f"{base}/v1/oauth/token", data=form)
        nonce = await client.post(f"{base}/v1/openid/nonce")
        proof = make_proof(new_key(), audience=public_url, nonce=nonce.json()["c_nonce"])
        body = {"credential_configuration_id": configuration_id, "proofs": {"jwt": [proof]}}
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        credential = await client.post(f"{base}/v1/openid/credential", json=body, headers=headers)
        return [token.status_code, nonce.status_code, credential.status_code]

    with running_server(env) as first, running_server(env) as second:
        headers = admin_headers(first)
        iaca = httpx.post(f"{first}/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"}).json()
        httpx.put(f"{first}/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True})
        configuration = httpx.post(
            f"{first}/v2/credentials/mobile/configurations",
            headers=headers,
            json={
                "type": "org.example.c",
                "claimMappings": {"ns": {"a": {"defaultValue": "x"}}},
                "expiresIn": {"days": 1},
            },
        ).json()
        uris = [
            httpx.post(
                f"{first}/v1/openid/offers/pre-authorized",
                headers=headers,
                json={"credentials": [configuration["id"]], "expiresIn": {"minutes": 30}},
            ).json()["uri"]
            for _ in range(40)
        ]

        async def run() -> list[list[int]]:
            async with httpx.AsyncClient(timeout=60) as client:
                bases = (first, second)
                return await asyncio.gather(
                    *(flow(client, bases[i % 2], uri, configuration["id"]) for i, uri in enumerate(uris))
                )

        outcomes = asyncio.run(run())
    assert outcomes == [[200, 200, 200]] * 40


def test_workers_on_a_port_in_use_stop_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "openissuer", "serve", "--port", str(port), "--workers", "2"],
            env=server_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 3  # uvicorn's STARTUP_FAILURE
    assert f"cannot listen on 127.0.0.1:{port}" in result.stdout + result.stderr
    assert "Address already in use" in result.stdout + result.stderr


def _token_statuses_from_five_forwarded_addresses(base: str) -> list[int]:
    return [
        httpx.post(
            f"{base}/v1/oauth/token",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": "x"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(5)
    ]


def test_a_loopback_client_cannot_choose_its_source_address_with_x_forwarded_for(tmp_path: Path) -> None:
    # trust_forwarded_for is off (the default): every request counts against the connection's own address, whatever
    # X-Forwarded-For says; with uvicorn's proxy headers (on by default for 127.0.0.1) each value was a new address.
    with running_server(server_env(tmp_path, OPENISSUER_RATE_LIMIT_PER_ADDRESS="3")) as base:
        statuses = _token_statuses_from_five_forwarded_addresses(base)
    assert statuses == [400, 400, 400, 429, 429]  # 400: the code is unknown (invalid_grant)


def test_behind_a_declared_proxy_each_forwarded_address_is_counted_apart(tmp_path: Path) -> None:
    env = server_env(tmp_path, OPENISSUER_RATE_LIMIT_PER_ADDRESS="3", OPENISSUER_TRUST_FORWARDED_FOR="true")
    with running_server(env) as base:
        assert _token_statuses_from_five_forwarded_addresses(base) == [400] * 5
