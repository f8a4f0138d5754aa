"""`stamen` command line: serve, keys, credits, webhook secret."""

from __future__ import annotations

import logging

import typer
from sqlalchemy import select

from stamen.config import Settings

app = typer.Typer(
    help="Stamen: a self-hosted, FLORA-compatible generation server",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Manage API keys (stored hashed).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _runtime():
    from stamen.runtime import Runtime

    return Runtime(Settings())


@app.command()
def serve() -> None:
    """Start the server (STAMEN_HOST, STAMEN_PORT, STAMEN_DATA_DIR, STAMEN_PUBLIC_URL)."""
    import uvicorn

    from stamen.api.app import create_app
    from stamen.runtime import Runtime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings()
    runtime = Runtime(settings)
    boot = runtime.bootstrap()
    if boot.new_api_key:
        typer.echo("=" * 72)
        typer.echo("Stamen first start: created a workspace, a project and an API key.")
        typer.echo(f"  FLORA_BASE_URL={settings.api_base_url}")
        typer.echo(f"  FLORA_API_KEY={boot.new_api_key}")
        typer.echo(f"  workspace_id={boot.workspace_id}  project_id={boot.project_id}")
        typer.echo("The key is shown only now. `stamen keys create` makes more.")
        typer.echo("=" * 72, err=False)
    uvicorn.run(
        create_app(runtime=runtime), host=settings.host, port=settings.port, log_level="warning", access_log=False
    )


@app.command()
def worker(
    concurrency: int = typer.Option(None, help="Runs executed at once (default STAMEN_WORKER_CONCURRENCY)"),
    pool: str = typer.Option("prefork", help="Celery pool: prefork, threads or solo"),
) -> None:
    """Run a Celery worker that executes runs (for STAMEN_EXECUTOR=celery; broker STAMEN_CELERY_BROKER_URL)."""
    from stamen.execution.celery import make_celery

    settings = Settings()
    celery_app = make_celery(settings)
    celery_app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency or settings.worker_concurrency}",
            f"--pool={pool}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


@keys_app.command("create")
def keys_create(
    test: bool = typer.Option(False, "--test", help="Create an sk_test_ key (simulated models, no charge)"),
    name: str = typer.Option(None, help="A label for the key"),
    workspace: str = typer.Option(None, help="Workspace id (default: the first workspace)"),
) -> None:
    from stamen.services import keys
    from stamen.store.models import Workspace

    runtime = _runtime()
    runtime.bootstrap()
    with runtime.db.session() as session:
        workspace_id = workspace or session.scalar(select(Workspace.id).order_by(Workspace.created_at).limit(1))
        key = keys.create_key(session, workspace_id, mode="test" if test else "live", name=name)
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    from stamen.store.models import ApiKey

    runtime = _runtime()
    with runtime.db.session(write=False) as session:
        for record in session.scalars(select(ApiKey).order_by(ApiKey.created_at)):
            state = "revoked" if record.revoked_at else "active"
            typer.echo(
                f"{record.id}\t{record.hint}\t{record.mode}\t{state}\t{record.workspace_id}\t{record.name or ''}"
            )


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    from stamen.errors import NotFound
    from stamen.services import keys

    runtime = _runtime()
    try:
        with runtime.db.session() as session:
            keys.revoke_key(session, key_id)
    except NotFound as error:
        typer.echo(f"error: {error.message} (see `stamen keys list`)", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {key_id}")


@app.command("workspace-create")
def workspace_create(name: str = typer.Argument(..., help="Workspace name")) -> None:
    """Create another workspace with a default project and a live key for it (printed once)."""
    from stamen.services import keys
    from stamen.services.workspaces import create_workspace

    runtime = _runtime()
    runtime.bootstrap()
    with runtime.db.session() as session:
        workspace = create_workspace(session, name, credits=runtime.settings.default_credits)
        key = keys.create_key(session, workspace.id, mode="live", name=f"{name} key")
        typer.echo(f"{workspace.id}\t{workspace.default_project_id}\t{key}")


@app.command("webhook-secret")
def webhook_secret() -> None:
    """Print each workspace's webhook signing secret (whsec_…), for verifying Flora-Signature."""
    from stamen.store.models import Workspace

    runtime = _runtime()
    runtime.bootstrap()
    with runtime.db.session(write=False) as session:
        for workspace in session.scalars(select(Workspace)):
            typer.echo(f"{workspace.id}\t{workspace.webhook_secret}")


@app.command()
def credits(
    amount: float = typer.Argument(None, help="New balance in USD; omit for unlimited"),
    workspace: str = typer.Option(None),
) -> None:
    """Set a workspace's credit balance (runs over it are refused with 402)."""
    from stamen.store.models import Workspace

    runtime = _runtime()
    runtime.bootstrap()
    with runtime.db.session() as session:
        query = select(Workspace) if workspace is None else select(Workspace).where(Workspace.id == workspace)
        target = session.scalars(query.order_by(Workspace.created_at)).first()
        target.credit_balance = amount
        typer.echo(f"{target.id}: {'unlimited' if amount is None else f'${amount:.4f}'}")


if __name__ == "__main__":
    app()
