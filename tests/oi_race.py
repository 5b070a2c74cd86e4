"""Worker processes that race for single-use storage items on one database (SQLite or PostgreSQL).

Each worker (``python tests/oi_race.py <config>``) opens its own engine and pool and its own wallet store (the hot
path's driver-level statements), warms the connections up, says ``ready`` and waits. For each round the parent
writes one JSON line naming an operation and the keys to race for to every worker at once; each worker then tries
every key ``tasks`` times concurrently, each try in its own unit of work that commits, and answers with how many of
its tries won per key. The parent adds the answers up: a single-use item must have exactly one winner across all
processes.

Typical use::

    with racing_processes(database_url, processes=3, tasks=4) as racers:
        wins = racers.race("consume_code", tenant_id, [code_hash.hex()], now)
        assert wins == {code_hash.hex(): 1}

A worker exits when its stdin closes (the parent is done or died).
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

READY = "ready"
TIMEOUT = 30.0


# --- the worker side ---------------------------------------------------------------------------------------------


Operation = Callable[[Any, Any, str, str, datetime], Awaitable[bool]]


def _operations() -> dict[str, Operation]:
    """Each takes (unit of work, wallet store, tenant id, key, now) and tells whether this try won."""
    import dataclasses
    import secrets
    from datetime import timedelta

    from openissuer.domain.authorization import AuthenticationProvider
    from openissuer.domain.ids import new_id
    from openissuer.domain.issued import IssuedCredentialRecord
    from openissuer.domain.offers import AccessGrant
    from openissuer.domain.users import User
    from openissuer.errors import ConflictError
    from openissuer.ports.wallet_store import IssuanceWrite, IssuanceWriteOutcome, NewGrant

    def new_grant(now: datetime) -> NewGrant:
        return NewGrant(secrets.token_bytes(32), "n", {}, None, now + timedelta(minutes=5), now)

    def issuance(tenant_id: str, token_hash: bytes, nonce: bytes, bound: int, now: datetime) -> IssuanceWrite:
        record = IssuedCredentialRecord(
            id=new_id(),
            tenant_id=tenant_id,
            configuration_id="mdl",
            format="mso_mdoc",
            profile="mobile",
            credential_type="mdl",
            issued_at=now,
            valid_from=now,
            valid_until=now + timedelta(days=1),
        )
        return IssuanceWrite(
            tenant_id=tenant_id,
            token_hash=token_hash,
            configuration_id="mdl",
            bound=bound,
            nonce_hashes=(nonce,),
            nonces_expire_at=now + timedelta(minutes=5),
            records=(record,),
            offer_id=None,
            now=now,
        )

    async def consume_code(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        return bool(await uow.authorization.consume_code(bytes.fromhex(key), now))

    async def take_pushed_request(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        return await uow.authorization.take_pushed_request(tenant_id, bytes.fromhex(key), now) is not None

    async def complete_session(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        return bool(await uow.authorization.complete_session(tenant_id, key, now))

    async def take_hook_session(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """``key`` is the hash of a ``state`` given to the interaction hook: one return may take the visit."""
        return bool(await uow.interaction_hooks.take_session(tenant_id, bytes.fromhex(key), now))

    async def exchange_authorization_code(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """What the token endpoint does with a code, in one unit of work: the first try consumes it and gets a
        grant; every later one is a replay and revokes the grants of the code (RFC 6749 §4.1.2)."""
        code_hash = bytes.fromhex(key)
        if not await uow.authorization.consume_code(code_hash, now):
            await uow.access_grants.revoke_for_code(code_hash, now)
            return False
        grant = AccessGrant(
            token_hash=secrets.token_bytes(32),
            tenant_id=tenant_id,
            user_id="u",
            credential_configuration_ids=("mdl",),
            credential_identifiers={},
            notification_id="n",
            claims={},
            expires_at=now + timedelta(minutes=5),
            created_at=now,
            authorization_code_hash=code_hash,
        )
        await uow.access_grants.add(grant)
        return True

    async def redeem_code(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """The token endpoint's one statement: redeem a pre-authorized code and add its grant."""
        return await store.redeem_code(tenant_id, bytes.fromhex(key), now, new_grant(now)) is not None

    async def redeem_with_proof_id(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """``key`` is ``code:proof id``: every try redeems the same code with the same DPoP proof id."""
        from openissuer.ports.wallet_store import SingleUseTaken

        code, proof_id = (bytes.fromhex(part) for part in key.split(":"))
        grant = dataclasses.replace(new_grant(now), dpop_jkt="jkt", single_use=(proof_id,), single_use_expire_at=now)
        try:
            return await store.redeem_code(tenant_id, code, now, grant) is not None
        except SingleUseTaken:
            return False

    async def commit_with_proof_id(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """``key`` is ``token:proof id``: every try has a fresh nonce and the same DPoP proof id."""
        token, proof_id = (bytes.fromhex(part) for part in key.split(":"))
        write = dataclasses.replace(
            issuance(tenant_id, token, secrets.token_bytes(32), 1000, now), proof_ids=(proof_id,)
        )
        return bool(await store.commit_issuance(write) is IssuanceWriteOutcome.RECORDED)

    async def use_once(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """An attestation PoP id or challenge used on its own (PAR, the authorization code exchange)."""
        return not await store.use_once([bytes.fromhex(key)], now + timedelta(minutes=5))

    async def failed_tx_code(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """A wrong transaction code; the try whose count reaches 3 locks the offer."""
        return bool(await store.record_failed_tx_code(tenant_id, key, 3) == 3)

    async def use_nonce(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """``key`` is ``token:nonce``: every try presents the same nonce; one may use it."""
        token, nonce = (bytes.fromhex(part) for part in key.split(":"))
        outcome = await store.commit_issuance(issuance(tenant_id, token, nonce, 1000, now))
        return bool(outcome is IssuanceWriteOutcome.RECORDED)

    async def within_bound(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """``key`` is a grant's token hash: every try asks for one credential with its own nonce; the bound is 1."""
        outcome = await store.commit_issuance(issuance(tenant_id, bytes.fromhex(key), secrets.token_bytes(32), 1, now))
        return bool(outcome is IssuanceWriteOutcome.RECORDED)

    async def add_provider(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """``key`` is a tenant id: every try adds a provider to it; one per tenant may exist."""
        provider = AuthenticationProvider(
            id=new_id(),
            tenant_id=key,
            url="https://idp.example",
            scope=("openid",),
            client_id="c",
            sealed_client_secret=b"s",
            secret_hint="****",
            token_endpoint_auth_method="client_secret_basic",
            static_request_parameters={},
            forwarded_request_parameters=(),
            claims_to_persist=(),
            created_at=now,
            updated_at=now,
        )
        try:
            await uow.authentication_providers.add(provider)
        except ConflictError:
            return False
        return True

    async def add_user(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """``key`` is a subject: every try adds a user for it; one per provider and subject may exist."""
        user = User(
            id=new_id(),
            tenant_id=tenant_id,
            claims={},
            created_at=now,
            updated_at=now,
            authentication_provider_id="provider",
            subject_id=key,
        )
        try:
            await uow.users.add(user)
        except ConflictError:
            return False
        return True

    async def create_tenant(uow: Any, store: Any, tenant_id: str, key: str, now: datetime) -> bool:
        """``key`` is a public URL: every try creates a tenant with it, as ``POST /v1/tenants`` does (read every
        tenant's host, then insert), in this try's unit of work; one tenant per host may exist."""
        from openissuer.services.tenancy import TenantDirectory
        from openissuer.services.tenants import TenantService

        class Borrowed:  # the service's unit of work is this try's
            async def __aenter__(self) -> Any:
                return uow

            async def __aexit__(self, *exc: object) -> None:
                return None

        def borrow(read_only: bool = False) -> Any:
            return Borrowed()

        clock = type("FixedClock", (), {"now": lambda self: now})()
        directory = TenantDirectory(borrow, default_public_url="https://default.example")
        try:
            await TenantService(borrow, clock, directory).create("racer", key)
        except ConflictError:
            return False
        return True

    return {
        "create_tenant": create_tenant,
        "consume_code": consume_code,
        "take_pushed_request": take_pushed_request,
        "complete_session": complete_session,
        "take_hook_session": take_hook_session,
        "exchange_authorization_code": exchange_authorization_code,
        "redeem_code": redeem_code,
        "failed_tx_code": failed_tx_code,
        "redeem_with_proof_id": redeem_with_proof_id,
        "commit_with_proof_id": commit_with_proof_id,
        "use_once": use_once,
        "use_nonce": use_nonce,
        "within_bound": within_bound,
        "add_provider": add_provider,
        "add_user": add_user,
    }


async def _work(url: str, tasks: int) -> None:
    from openissuer.adapters.sql.engine import create_async_db_engine, is_sqlite, libpq_dsn, sqlite_path
    from openissuer.adapters.sql.postgres_wallet_store import PostgresWalletStore
    from openissuer.adapters.sql.sqlite_wallet_store import SqliteWalletStore
    from openissuer.adapters.sql.uow import SqlUnitOfWork

    operations = _operations()
    engine = create_async_db_engine(url, pool_size=tasks)
    store: Any = (
        SqliteWalletStore(sqlite_path(url)) if is_sqlite(url) else PostgresWalletStore(libpq_dsn(url), pool_size=tasks)
    )

    async def touch() -> None:
        async with SqlUnitOfWork(engine, read_only=True) as uow:
            await uow.tenants.get("warm-up")
        await store.config_version("warm-up")

    await asyncio.gather(*(touch() for _ in range(tasks)))  # connections are open before the race starts

    async def attempt(name: str, tenant_id: str, key: str, now: datetime) -> bool:
        async with SqlUnitOfWork(engine) as uow:
            won = await operations[name](uow, store, tenant_id, key, now)
            await uow.commit()
            return won

    print(READY, flush=True)
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):
            round_ = json.loads(line)
            now = datetime.fromisoformat(round_["now"])
            keys: list[str] = round_["keys"]
            tries = [
                (key, attempt(round_["operation"], round_["tenant"], key, now)) for key in keys for _ in range(tasks)
            ]
            results = await asyncio.gather(*(t for _, t in tries), return_exceptions=True)
            wins = dict.fromkeys(keys, 0)
            errors = []
            for (key, _), result in zip(tries, results, strict=True):
                if isinstance(result, BaseException):
                    errors.append(f"{type(result).__name__}: {result}")
                elif result:
                    wins[key] += 1
            print(json.dumps({"wins": wins, "errors": errors}), flush=True)
    finally:
        await engine.dispose()
        await store.aclose()


# --- the parent side ---------------------------------------------------------------------------------------------


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    buffer: bytes = b""
    lines: list[str] = field(default_factory=list)

    def read_line(self, deadline: float) -> str:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"racing worker {self.process.pid} did not answer in time")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.process.wait(timeout=5)
                    raise AssertionError(f"racing worker exited with {self.process.returncode}: {self.buffer!r}")
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()


class Racers:
    """Worker processes on one database, started and ready."""

    def __init__(self, workers: list[_Worker], tasks: int) -> None:
        self._workers = workers
        self.tasks = tasks

    @property
    def processes(self) -> int:
        return len(self._workers)

    def race(self, operation: str, tenant_id: str, keys: list[str], now: datetime) -> dict[str, int]:
        """Let every process try every key ``tasks`` times at once; return the total wins per key."""
        line = json.dumps({"operation": operation, "tenant": tenant_id, "keys": keys, "now": now.isoformat()})
        for worker in self._workers:  # every worker is blocked on stdin: they start within microseconds
            assert worker.process.stdin is not None
            worker.process.stdin.write(line.encode() + b"\n")
            worker.process.stdin.flush()
        deadline = time.monotonic() + TIMEOUT
        totals = dict.fromkeys(keys, 0)
        errors: list[str] = []
        for worker in self._workers:
            answer = json.loads(worker.read_line(deadline))
            errors += answer["errors"]
            for key, wins in answer["wins"].items():
                totals[key] += wins
        assert not errors, errors
        return totals


@contextmanager
def racing_processes(url: str, *, processes: int = 3, tasks: int = 4) -> Iterator[Racers]:
    """Start ``processes`` workers on the database at ``url``, each racing with ``tasks`` connections."""
    config = json.dumps({"url": url, "tasks": tasks})
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENISSUER_")}
    workers = [
        _Worker(
            subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), config],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        )
        for _ in range(processes)
    ]
    try:
        deadline = time.monotonic() + TIMEOUT
        for worker in workers:
            assert worker.read_line(deadline) == READY
        yield Racers(workers, tasks)
    finally:
        for worker in workers:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        for worker in workers:
            try:
                worker.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            if worker.process.stdout is not None:
                worker.process.stdout.close()


if __name__ == "__main__":
    _config = json.loads(sys.argv[1])
    asyncio.run(_work(_config["url"], int(_config["tasks"])))
