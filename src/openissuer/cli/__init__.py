"""The ``openissuer`` command: serve, demo, db upgrade, clients create|list|delete."""

from __future__ import annotations

from openissuer.cli.commands import app


def main() -> None:
    """Run the command line."""
    app()
