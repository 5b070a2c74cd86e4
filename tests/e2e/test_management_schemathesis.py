"""Schemathesis over the whole management API, on SQLite and PostgreSQL: no 5xx and no response that breaks the
OpenAPI document (status codes, content types, bodies, headers).

A real server (uvicorn in a thread, on loopback) answers; every operation gets a bounded number of generated
requests, valid and invalid, with an admin token (platform-admin, so the tenants API is reached too). The run is
bounded in examples, not in time: about half a minute per backend on the CI machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from oi_testing import free_port, make_settings
from openissuer.adapters.sql.migrate import upgrade_database
from openissuer.bootstrap import build
from openissuer.domain.api_clients import Role
from openissuer.web.app import create_app
from openissuer.web.strict_input import is_wallet_path

EXAMPLES = 12
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
)
# Generated headers that would change how the request is framed (a Content-Length of "005_=b~2g"): uvicorn's HTTP
# parser refuses such a request with its own text/plain 400 before any application code runs, so the OpenAPI
# document has nothing to say about it. The HTTP client sets these; they are never API parameters.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
pytestmark = pytest.mark.slow


class _Server:
    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    url = (
        f"sqlite:///{tmp_path / 'st.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    upgrade_database(url)
    container = build(make_settings(tmp_path, database_url=url))  # type: ignore[arg-type]
    created = asyncio.run(
        container.api_clients.create_client(
            "00000000-0000-4000-8000-000000000000", name="st", roles=(Role.PLATFORM_ADMIN, Role.ADMIN)
        )
    )
    asyncio.run(container.aclose())
    container = build(make_settings(tmp_path, database_url=url))  # type: ignore[arg-type]
    port = free_port()
    with _Server(create_app(container), port):
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(
            f"{base}/v1/auth/token",
            json={"client_id": created.client.client_id, "client_secret": created.client_secret},
        ).json()["access_token"]
        yield base, {"Authorization": f"Bearer {token}"}


def test_the_management_api_holds_its_openapi_document(served: tuple[str, dict[str, str]]) -> None:
    base, headers = served
    spec = httpx.get(f"{base}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if not is_wallet_path(result.ok().path) and result.ok().path not in ("/health", "/ready", "/metrics")
    ]
    assert len(operations) > 20
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def run(case: Any) -> None:
                for name in [n for n in case.headers or {} if n.lower() in FRAMING_HEADERS]:
                    del case.headers[name]
                response = case.call(base_url=base, headers=headers)
                for check in CHECKS:
                    try:
                        case.validate_response(response, checks=[check])
                    except BaseExceptionGroup as exc:  # schemathesis's FailureGroup; collected, reported together
                        failures.append(f"{case.method} {case.path} -> {response.status_code}: {exc}"[:600])

            try:
                run()
            except Unsatisfiable:  # nothing of the operation can be made invalid (e.g. a bare DELETE)
                assert mode is GenerationMode.NEGATIVE
    assert not failures, "\n".join(failures[:20])
