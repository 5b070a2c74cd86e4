"""The ASGI factory uvicorn workers import: ``uvicorn --factory openissuer.cli.asgi:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from openissuer.bootstrap import build
from openissuer.cli.logs import configure_logging
from openissuer.config import Settings
from openissuer.web.app import create_app as create_web_app


def create_app() -> FastAPI:
    """Read the settings from the environment and build the app (one call per worker process)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_web_app(build(settings))
