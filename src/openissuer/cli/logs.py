"""Logging: JSON (or console) lines through structlog, with a request id and secrets redacted.

Redaction is a last line of defence: code never logs secrets on purpose, and this processor masks any field whose
name says it is a secret and any value shaped like a JWT or a bearer credential.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"
_SECRET_NAMES = re.compile(
    r"(secret|password|passwd|token|authorization|private|master_key|^code$|_code$|tx_code|nonce|verifier|proof|"
    r"^key$|_key$|cookie|credential$)",
    re.IGNORECASE,
)
_PUBLIC_NAMES = frozenset({"status_code", "error_code", "client_id", "request_id", "token_type", "tenant_id"})
_SECRET_VALUES = re.compile(r"(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*|Bearer\s+\S+|Basic\s+\S+)")


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_VALUES.sub(REDACTED, value)
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask secret-named fields and secret-shaped values in a log event."""
    for name in list(event_dict):
        if name not in _PUBLIC_NAMES and _SECRET_NAMES.search(name):
            event_dict[name] = REDACTED
        else:
            event_dict[name] = _redact_value(event_dict[name])
    return event_dict


def drop_color_message(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Remove uvicorn's terminal-coloured duplicate of the message."""
    event_dict.pop("color_message", None)
    return event_dict


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
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs whole URLs, query strings included
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs requests without query strings
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
