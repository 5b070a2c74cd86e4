"""The log redaction processor masks secret-named fields and secret-shaped values."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from openissuer.cli.logs import REDACTED, configure_logging, redact_secrets


@pytest.mark.parametrize(
    "name",
    [
        "client_secret",
        "secret",
        "access_token",
        "password",
        "authorization",
        "code",
        "pre_authorized_code",
        "tx_code",
        "c_nonce",
        "code_verifier",
        "private_key",
        "master_key",
        "proof",
        "id_token",
        "key",
    ],
)
def test_secret_named_fields_are_masked(name: str) -> None:
    assert redact_secrets(None, "info", {name: "s3cr3t"})[name] == REDACTED


@pytest.mark.parametrize("name", ["client_id", "status_code", "request_id", "tenant_id", "path", "token_type"])
def test_public_fields_are_kept(name: str) -> None:
    assert redact_secrets(None, "info", {name: "value"})[name] == "value"


@pytest.mark.parametrize(
    "value",
    ["header was Bearer abc.def.ghi", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln here", "Basic dXNlcjpwYXNz"],
)
def test_secret_shaped_values_are_masked(value: str) -> None:
    masked = redact_secrets(None, "info", {"event": value})["event"]
    assert REDACTED in masked
    assert "abc.def.ghi" not in masked and "c2ln" not in masked and "dXNlcjpwYXNz" not in masked


def test_json_lines_are_redacted_end_to_end(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    try:
        logging.getLogger("openissuer.test").info("login", extra={"client_secret": "s3cr3t", "client_id": "abc"})
    finally:
        logging.getLogger().handlers.clear()
    line = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert line["client_secret"] == REDACTED
    assert line["client_id"] == "abc"
    assert line["event"] == "login"
    assert "timestamp" in line


def test_the_direct_access_line_is_the_processor_chains_line() -> None:
    """The access logger's direct JSON path gives the same fields and values as structlog's processor chain."""
    import io

    import structlog

    configure_logging("info", "json")
    handler = logging.getLogger().handlers[0]
    stream = io.StringIO()
    handler.stream = stream  # type: ignore[attr-defined]
    structlog.contextvars.bind_contextvars(request_id="r-1")
    extra = {"method": "GET", "route": "unmatched", "status": 404, "duration_ms": 0.5, "path": "/a/Bearer abc"}
    logging.getLogger("openissuer.access").info("request", extra=extra)
    handler.formatter._fast_access = False  # type: ignore[union-attr]
    logging.getLogger("openissuer.access").info("request", extra=extra)
    structlog.contextvars.clear_contextvars()
    fast, chain = (json.loads(line) for line in stream.getvalue().splitlines())
    fast.pop("timestamp"), chain.pop("timestamp")
    assert fast == chain
    assert fast["path"] == "/a/" + REDACTED and fast["request_id"] == "r-1"


def test_the_direct_line_is_the_processor_chains_line_for_any_plain_record() -> None:
    """Any plain standard-library record (extras, a warning, uvicorn's color_message, values JSON cannot hold,
    secrets by name and by shape) gives through the direct path the same object as through structlog's chain."""
    import io
    import re
    from datetime import UTC, datetime

    import structlog

    configure_logging("info", "json")
    handler = logging.getLogger().handlers[0]
    stream = io.StringIO()
    handler.stream = stream  # type: ignore[attr-defined]
    structlog.contextvars.bind_contextvars(request_id="r-2", tenant_id="t-1")
    extras = {
        "offer_id": "o-1",
        "count": 2,
        "access_token": "plain-secret",
        "detail": "header Bearer abc.def and eyJhbGciOiJIUzI1NiJ9.e30.sig",
        "when": datetime(2026, 12, 1, tzinfo=UTC),
        "names": {"b"},
        "color_message": "coloured",
        "request_id": "from-extra",
    }
    for fast in (True, False):
        handler.formatter._fast_access = fast  # type: ignore[union-attr]
        logging.getLogger("openissuer.issuance").warning("credentials %s", "issued", extra=extras)
    structlog.contextvars.clear_contextvars()
    fast_line, chain_line = stream.getvalue().splitlines()
    fast, chain = json.loads(fast_line), json.loads(chain_line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", fast.pop("timestamp"))
    chain.pop("timestamp")
    assert fast == chain
    assert list(json.loads(fast_line)) == list(json.loads(chain_line))  # the same keys in the same order
    assert fast["event"] == "credentials issued" and fast["level"] == "warning" and "color_message" not in fast
    assert fast["access_token"] == REDACTED and "abc" not in fast["detail"] and "eyJ" not in fast["detail"]
    assert fast["request_id"] == "from-extra" and fast["tenant_id"] == "t-1"


def test_at_debug_level_no_driver_logs_a_statements_parameters(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """aiosqlite logs each statement with its parameters at debug level (here: a PKCE verifier being stored):
    its logger and the other drivers' stay at WARNING whatever the app's level."""
    import asyncio

    from sqlalchemy import text

    from openissuer.adapters.sql.engine import create_async_db_engine

    async def store_a_secret() -> None:
        engine = create_async_db_engine(f"sqlite:///{tmp_path / 'd.db'}")
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (v TEXT)"))
                await connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": "verifier-s3cr3t-value"})
        finally:
            await engine.dispose()

    configure_logging("debug", "json")
    try:
        asyncio.run(store_a_secret())
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
    assert "verifier-s3cr3t-value" not in capfd.readouterr().err
