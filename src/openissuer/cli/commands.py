"""Typer commands. Each builds the container it needs from the settings and closes it when done."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import segno
import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from openissuer import __version__
from openissuer.bootstrap import MEMORY_DATABASE_URL, Container, build, migrate
from openissuer.cli.demo import DemoOffer, seed_demo
from openissuer.cli.http_protocol import WalletHttpProtocol
from openissuer.cli.logs import configure_logging
from openissuer.cli.workers import ReusePortMultiprocess, reuse_port_available
from openissuer.config import CONFIG_FILE_ENV, Settings
from openissuer.domain.api_clients import Role
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.domain.pages import MAX_PAGE_LIMIT, PageKey
from openissuer.errors import IssuerError, ManagementError

app = typer.Typer(help="openissuer: a self-hosted OID4VCI credential issuer.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
clients_app = typer.Typer(help="Management API clients.", no_args_is_help=True)
tenants_app = typer.Typer(
    help="Tenants: isolated issuers of this deployment (platform administration).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")
app.add_typer(tenants_app, name="tenants")
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def _version(value: bool) -> None:
    if value:
        console.print(f"openissuer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", help="TOML settings file (env vars win).")] = None,
) -> None:
    if config is not None:
        os.environ[CONFIG_FILE_ENV] = str(config)  # read by Settings here and in every worker process


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _with_container(settings: Settings, work: Callable[[Container], Awaitable[T]]) -> T:
    async def run() -> T:
        container = build(settings)
        try:
            await container.start()
            return await work(container)
        finally:
            await container.aclose()

    try:
        return asyncio.run(run())
    except IssuerError as exc:
        err_console.print(f"[red]error:[/red] {escape(exc.description)}")
        for detail in exc.details if isinstance(exc, ManagementError) else ():  # which option, and why
            err_console.print(f"  {escape(detail.param)}: {escape(detail.msg)}")
        raise typer.Exit(1) from exc


def _prepare(settings: Settings, *, migrate_schema: bool) -> None:
    settings.resolve_master_key()  # generated once here, before worker processes read it
    if settings.resolved_database_url == MEMORY_DATABASE_URL and settings.workers > 1:
        err_console.print("[red]error:[/red] the memory database cannot be shared by several workers")
        raise typer.Exit(2)
    if migrate_schema:
        revision = migrate(settings)
        if revision:
            console.print(f"database schema at revision {revision}", style="dim")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (OPENISSUER_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (OPENISSUER_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (OPENISSUER_WORKERS).")] = None,
    migrate_schema: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Upgrade the schema first.")] = True,
) -> None:
    """Run the issuer server."""
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"OPENISSUER_{name}"] = str(value)  # worker processes read the same settings
    settings = _settings()
    _prepare(settings, migrate_schema=migrate_schema and settings.auto_migrate)
    _run_server(settings)


ASGI_APP = "openissuer.cli.asgi:create_app"


def _run_server(settings: Settings) -> None:
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="openissuer-metrics-")
    options: dict[str, Any] = {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "access_log": False,
        "log_config": None,
        "server_header": False,
        "http": WalletHttpProtocol,
        # Forwarded headers count only behind a proxy the operator declared (``trust_forwarded_for``): uvicorn's own
        # X-Forwarded-For / -Proto handling, on by default for loopback peers, would otherwise let a local client
        # choose its source address whatever that setting says (and costs ~1 % of an issuance). When it is on,
        # uvicorn believes them from ``FORWARDED_ALLOW_IPS`` (default 127.0.0.1 and ::1) as before.
        "proxy_headers": settings.trust_forwarded_for,
    }
    if settings.workers > 1 and reuse_port_available():
        # One listening socket per worker (cli/workers.py), not uvicorn's one shared socket.
        ReusePortMultiprocess(uvicorn.Config(ASGI_APP, **options)).run()
        return
    uvicorn.run(ASGI_APP, **options)


@app.command()
def worker(
    migrate_schema: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Upgrade the schema first.")] = True,
) -> None:
    """Run the webhook delivery worker and retention pruning without serving HTTP (until SIGTERM or Ctrl-C).

    `serve` runs the same worker in each of its processes unless OPENISSUER_DELIVERY_WORKER=false; large deployments
    turn that off and run workers of their own.
    """
    settings = _settings()
    if settings.resolved_database_url == MEMORY_DATABASE_URL:
        err_console.print("[red]error:[/red] a worker needs a database shared with the server (not memory://)")
        raise typer.Exit(2)
    _prepare(settings, migrate_schema=migrate_schema and settings.auto_migrate)

    async def run() -> None:
        container = build(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await container.start()
            container.background.start()
            console.print("webhook delivery worker running", style="dim")
            await stop.wait()
        finally:
            await container.aclose()

    asyncio.run(run())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database schema to the newest revision."""
    settings = _settings()
    revision = migrate(settings)
    console.print(f"database schema at revision {revision or 'n/a (memory)'}")


def _parse_roles(roles: list[str]) -> tuple[Role, ...]:
    try:
        return tuple(Role(role) for role in roles)
    except ValueError as exc:
        raise typer.BadParameter(f"roles are {', '.join(r.value for r in Role)}") from exc


@clients_app.command("create")
def clients_create(
    role: Annotated[list[str], typer.Option("--role", help="admin | issuer | auditor | platform-admin (repeatable).")],
    name: Annotated[str, typer.Option(help="A label for the client.")] = "cli",
    tenant_id: Annotated[str, typer.Option(help="Tenant id.")] = DEFAULT_TENANT_ID,
) -> None:
    """Create a management API client and print its id and secret (the secret is shown only now)."""
    roles = _parse_roles(role)
    settings = _migrated_settings()
    created = _with_container(settings, lambda c: c.api_clients.create_client(tenant_id, name=name, roles=roles))
    console.print(f"client_id:     {created.client.client_id}")
    console.print(f"client_secret: {created.client_secret}")
    err_console.print("Store the secret now: it cannot be shown again.", style="yellow")


@clients_app.command("list")
def clients_list(tenant_id: Annotated[str, typer.Option(help="Tenant id.")] = DEFAULT_TENANT_ID) -> None:
    """List the tenant's management API clients."""
    settings = _settings()

    async def collect(container: Container) -> list[tuple[str, str, str, str, str]]:
        rows: list[tuple[str, str, str, str, str]] = []
        after: PageKey | None = None
        while True:
            page = await container.api_clients.list_clients(tenant_id, limit=MAX_PAGE_LIMIT, after=after)
            rows += [(c.id, c.client_id, c.name, ",".join(c.roles), c.created_at.isoformat()) for c in page.items]
            if page.next_key is None:
                return rows
            after = page.next_key

    # Tab-separated, never truncated: readable in a terminal and easy to script.
    typer.echo("id\tclient_id\tname\troles\tcreated")
    for row in _with_container(settings, collect):
        typer.echo("\t".join(row))


@clients_app.command("delete")
def clients_delete(
    id: Annotated[str, typer.Argument(help="The client's id (not its client_id).")],
    tenant_id: Annotated[str, typer.Option(help="Tenant id.")] = DEFAULT_TENANT_ID,
) -> None:
    """Delete a management API client; its tokens stop working at once."""
    _with_container(_settings(), lambda c: c.api_clients.delete_client(tenant_id, id))
    console.print(f"deleted {id}")


def _migrated_settings() -> Settings:
    settings = _settings()
    if settings.auto_migrate:
        migrate(settings)
    return settings


@tenants_app.command("create")
def tenants_create(
    name: Annotated[str, typer.Option(help="A label for the tenant.")],
    public_url: Annotated[
        str, typer.Option("--public-url", help="Its credential issuer identifier; its host must be its own.")
    ],
) -> None:
    """Create a tenant and its first admin API client; print their ids and the client's secret (shown only now)."""
    created = _with_container(_migrated_settings(), lambda c: c.tenant_admin.create(name, public_url))
    console.print(f"tenant_id:     {created.tenant.id}")
    console.print(f"public_url:    {created.public_url}")
    console.print(f"client_id:     {created.admin_client.client_id}")
    console.print(f"client_secret: {created.admin_client_secret}")
    err_console.print("Store the secret now: it cannot be shown again.", style="yellow")


@tenants_app.command("list")
def tenants_list() -> None:
    """List the deployment's tenants."""

    async def collect(container: Container) -> list[tuple[str, str, str, str]]:
        rows: list[tuple[str, str, str, str]] = []
        after: PageKey | None = None
        while True:
            page = await container.tenant_admin.list_tenants(limit=MAX_PAGE_LIMIT, after=after)
            rows += [
                (t.id, t.name, container.tenant_admin.public_url_of(t), t.created_at.isoformat()) for t in page.items
            ]
            if page.next_key is None:
                return rows
            after = page.next_key

    typer.echo("id\tname\tpublic_url\tcreated")
    for row in _with_container(_settings(), collect):
        typer.echo("\t".join(row))


@tenants_app.command("delete")
def tenants_delete(id: Annotated[str, typer.Argument(help="The tenant's id.")]) -> None:
    """Delete a tenant and everything it holds (configurations, keys, offers, users, records)."""
    _with_container(_settings(), lambda c: c.tenant_admin.delete(id))
    console.print(f"deleted tenant {id}")


DEMO_CLIENT_ID = "demo-admin"


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="Port (OPENISSUER_PORT).")] = None,
) -> None:
    """Run a local server on SQLite with demo data and print how to use it."""
    if port is not None:
        os.environ["OPENISSUER_PORT"] = str(port)
    os.environ.setdefault("OPENISSUER_LOG_FORMAT", "console")
    settings = _settings()
    if "OPENISSUER_PUBLIC_URL" not in os.environ:  # the offer must point at this very server
        os.environ["OPENISSUER_PUBLIC_URL"] = f"http://{settings.host}:{settings.port}"
        settings = _settings()
    _prepare(settings, migrate_schema=True)

    async def seed(container: Container) -> tuple[str, DemoOffer]:
        existing = await container.api_clients.find_by_client_id(DEMO_CLIENT_ID)
        if existing is not None:  # a secret cannot be shown twice, so the demo client gets a new one each run
            await container.api_clients.delete_client(existing.tenant_id, existing.id)
        created = await container.api_clients.create_client(
            DEFAULT_TENANT_ID, name="demo", roles=(Role.ADMIN,), client_id=DEMO_CLIENT_ID
        )
        offer = await seed_demo(container, offer_minutes=settings.offer_max_ttl // 60)
        return created.client_secret, offer

    secret, offer = _with_container(settings, seed)
    base = f"http://{settings.host}:{settings.port}"
    console.rule("openissuer demo")
    console.print(f"Server:        {base}   (API docs: {base}/docs)")
    console.print(f"portal_url:    {base}/portal/   (sign in with the client_id and client_secret below)")
    console.print(f"Issuer:        {settings.public_url}   (metadata: /.well-known/openid-credential-issuer)")
    console.print(f"Database:      {settings.resolved_database_url}")
    console.print(f"client_id:     {DEMO_CLIENT_ID}")
    console.print(f"client_secret: {secret}")
    console.print("Get a management token:")
    console.print(
        f"  curl -s -X POST {base}/v1/auth/token -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"grant_type":"client_credentials","client_id":"{DEMO_CLIENT_ID}",'
        f'"client_secret":"{secret}"}}\'',
        soft_wrap=True,
        highlight=False,
    )
    console.rule("an mDL offer to scan")
    segno.make(offer.uri, error="l").terminal(compact=True)
    console.print(f"offer_uri:     {offer.uri}", soft_wrap=True, highlight=False)
    console.print(
        f"The offer is single use and expires in {offer.expires_in_minutes} minutes. A phone's wallet must reach "
        f"the issuer: set OPENISSUER_PUBLIC_URL to an https URL that points here (e.g. a tunnel). New offers: "
        f'POST /v1/openid/offers/pre-authorized with credentials ["{offer.configuration_id}"].',
        style="dim",
    )
    console.rule()
    _run_server(settings)
