"""Logging: JSON (or console) lines through structlog, with a request id and secrets redacted.

Redaction is a last line of defence: code never logs secrets on purpose, and this processor masks any field whose
name says it is a secret and any value shaped like a JWT or a bearer credential.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

REDACTED = "[redacted]"
_SECRET_NAMES = re.compile(
    r"(secret|password|passwd|token|authorization|private|master_key|^code$|_code$|tx_code|nonce|verifier|proof|"
    r"^key$|_key$|cookie|credential$)",
    re.IGNORECASE,
)
_PUBLIC_NAMES = frozenset({"status_code", "error_code", "client_id", "request_id", "token_type", "tenant_id"})
_SECRET_VALUES = re.compile(r"(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*|Bearer\s+\S+|Basic\s+\S+)")


_SECRET_MARKERS = ("eyJ", "Bearer", "Basic")  # a secret-shaped value contains one of these (see _SECRET_VALUES)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str) and any(marker in value for marker in _SECRET_MARKERS):
        return _SECRET_VALUES.sub(REDACTED, value)
    return value


@functools.lru_cache(maxsize=1024)
def _is_secret_name(name: str) -> bool:
    return name not in _PUBLIC_NAMES and _SECRET_NAMES.search(name) is not None


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask secret-named fields and secret-shaped values in a log event."""
    for name in list(event_dict):
        if _is_secret_name(name):
            event_dict[name] = REDACTED
        else:
            event_dict[name] = _redact_value(event_dict[name])
    return event_dict


def drop_color_message(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Remove uvicorn's terminal-coloured duplicate of the message."""
    event_dict.pop("color_message", None)
    return event_dict


ACCESS_LOGGER = "openissuer.access"
# What structlog's ExtraAdder leaves out: the attributes every LogRecord has.
_LOG_RECORD_KEYS = frozenset(logging.LogRecord("name", 0, "pathname", 0, "msg", (), None).__dict__)


def _json_line(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=repr).decode()


def _timestamp(created: float) -> str:
    seconds = int(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((created - seconds) * 1e6):06d}Z"


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, with a direct path in JSON for a plain standard-library record (no exception, no
    stack): the same object as the processor chain makes (the same keys, in the same order, values redacted the same
    way) at a fraction of its cost. A request writes an access line and often one more, so this is on the hot path.
    """

    def __init__(self, *, fast_access: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fast_access = fast_access

    def format(self, record: logging.LogRecord) -> str:
        values = record.__dict__
        if (
            not self._fast_access
            or record.exc_info is not None
            or record.exc_text
            or record.stack_info
            or not isinstance(record.msg, str)
            or "_from_structlog" in values
        ):
            return super().format(record)
        # The chain: merge_contextvars, add_log_level, add_logger_name, ExtraAdder, TimeStamper, drop_color_message,
        # redact_secrets, then the JSON renderer.
        event: dict[str, Any] = {"event": record.getMessage()}
        for name, value in structlog.contextvars.get_contextvars().items():
            event.setdefault(name, value)
        event["level"] = record.levelname.lower()
        event["logger"] = record.name
        for name, value in values.items():
            if name not in _LOG_RECORD_KEYS:
                event[name] = value
        event["timestamp"] = _timestamp(record.created)
        event.pop("color_message", None)
        return _json_line(redact_secrets(None, "info", event))


PINNED_LOGGERS = ("httpx", "httpcore", "aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool", "psycopg")


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    """Route stdlib and structlog records through one formatter on stderr."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_color_message,
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json_line) if fmt == "json" else structlog.dev.ConsoleRenderer()
    )
    formatter = _Formatter(
        fast_access=fmt == "json",
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    # No line in either format shows the caller's file and line, the thread or the process: don't collect them
    # (the Logging HOWTO's "Optimization" section), a few microseconds on every record.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
    # Third-party loggers that log what must not be logged, whatever the app's level: whole URLs with their query
    # strings (httpx, httpcore), statements with their parameters (aiosqlite, asyncpg; SQLAlchemy's engine logs hide
    # them, but not at every level of every dialect), which hold codes, verifiers, nonces and claims.
    for name in PINNED_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs requests without query strings
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
