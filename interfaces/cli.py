"""The ``tutahi`` command line."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

import click
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from application.demo import load_demo
from application.errors import ApplicationError
from application.ledger import Ledger
from domain.errors import DomainError
from domain.values import Actor, ActorRole, PartnerKind
from infrastructure.store import StoreMisconfigured, database_url
from interfaces.composition import open_ledger

F = TypeVar("F", bound=Callable[..., Any])
CLI_NAMESPACE = UUID("6d1f3a52-8f6c-5b7e-a1d4-3c9e0b2f4a61")
out = Console()
err = Console(stderr=True)


def cli_admin() -> Actor:
    """The person at the terminal acts as an admin, named by their login."""
    name = f"command line ({getpass.getuser()})"
    return Actor(ActorRole.ADMIN, uuid5(CLI_NAMESPACE, name), name)


def fail(message: str) -> None:
    raise click.ClickException(message)


@contextmanager
def ledger_for(ctx: click.Context) -> Iterator[Ledger]:
    """Opens the store named on the command line, turning every refusal into a
    one-line error and a non-zero exit."""
    url = database_url(ctx.obj["database_url"])
    try:
        ledger = open_ledger(url)
    except StoreMisconfigured as error:
        fail(f"the store at {url} is not durable: {error}")
    except (SQLAlchemyError, PersistenceError, OSError) as error:
        fail(f"cannot open the store at {url}: {type(error).__name__}: {str(error).splitlines()[0]}")
    try:
        yield ledger
    except (DomainError, ApplicationError) as error:
        fail(str(error))
    finally:
        ledger.close()


@click.group()
@click.option(
    "--database-url",
    envvar="TUTAHI_DATABASE_URL",
    default=None,
    help="Store URL (default: sqlite:///tutahi.db in the current folder; postgresql+psycopg://… for PostgreSQL).",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Tūtahi: commitments that communities and government keep together, on the record."""
    ctx.ensure_object(dict)
    ctx.obj["database_url"] = database_url


@main.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Load New Zealand's 2014–16 action plan (running it twice changes nothing)."""
    with ledger_for(ctx) as ledger:
        result = load_demo(ledger, progress=lambda line: err.print(f"  {line}"))
        out.print(
            f"Demo data: {result.partners_added} partners, {result.commitments_added} commitments, "
            f"{result.events_added} events added; the log holds {ledger.read_models.log_size()} events."
        )


@main.command()
@click.argument("commitment_id", required=False)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.pass_context
def timeline(ctx: click.Context, commitment_id: str | None, limit: int) -> None:
    """Print the timeline of one commitment, or of every commitment."""
    with ledger_for(ctx) as ledger:
        if commitment_id is not None:
            ids = [parse_uuid(commitment_id, "commitment id")]
        else:
            ids = [summary.id for summary in _all(lambda after: ledger.list_commitments(None, after=after))]
        if not ids:
            out.print("No commitments yet. Load the demo data with: tutahi demo")
        for cid in ids:
            document = ledger.get_commitment(cid)
            completion = document["completion"]["completion"] if document["completion"] else "no report yet"
            table = Table(
                title=f"{document['external_ref']} · {document['title']}",
                caption=f"{document['action_plan']} · {document['status']} · completion: {completion}",
                title_justify="left",
                expand=True,
            )
            table.add_column("recorded (UTC)", no_wrap=True)
            table.add_column("happened", no_wrap=True)
            table.add_column("what")
            for entry in ledger.timeline(cid, limit=limit).items:
                table.add_row(
                    entry.recorded_at.strftime("%Y-%m-%d %H:%M"),
                    entry.occurred_on.isoformat() if entry.occurred_on else "",
                    entry.summary,
                )
            out.print(table)


T = TypeVar("T")


def _all(page: Callable[[str | None], Any]) -> list[Any]:
    items: list[Any] = []
    after: str | None = None
    while True:
        result = page(after)
        items.extend(result.items)
        if result.next is None:
            return items
        after = result.next


def parse_uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        fail(f"{what} {value!r} is not a UUID")
        raise  # unreachable: fail() raises


@main.group()
def partners() -> None:
    """Register and list partners."""


@partners.command("add")
@click.option("--name", required=True, help="The organisation's name, macrons and all.")
@click.option("--kind", required=True, type=click.Choice([k.value for k in PartnerKind]))
@click.option("--external-ref", default=None, help="An outside reference, e.g. a charity number.")
@click.pass_context
def partners_add(ctx: click.Context, name: str, kind: str, external_ref: str | None) -> None:
    """Register a partner; prints its id alone on the last line."""
    with ledger_for(ctx) as ledger:
        result = ledger.register_partner(
            name=name, kind=PartnerKind(kind), external_ref=external_ref, actor=cli_admin(), request_id=f"cli-{uuid4()}"
        )
        err.print(f"Registered {name} ({kind}).")
        click.echo(str(result.created_id))


@partners.command("list")
@click.option("--q", default=None, help="Search (ignores case and macrons).")
@click.option("--kind", default=None, type=click.Choice([k.value for k in PartnerKind]))
@click.pass_context
def partners_list(ctx: click.Context, q: str | None, kind: str | None) -> None:
    """List registered partners."""
    with ledger_for(ctx) as ledger:
        table = Table("id", "name", "kind")
        for row in _all(lambda after: ledger.list_partners(q=q, kind=kind, after=after)):
            table.add_row(str(row.id), row.name, row.kind)
        out.print(table)


@main.group()
def projections() -> None:
    """Read models built from the log."""


@projections.command("rebuild")
@click.pass_context
def projections_rebuild(ctx: click.Context) -> None:
    """Drop every read model and rebuild it from the log, in one transaction."""
    with ledger_for(ctx) as ledger:
        total = ledger.read_models.log_size()
        with Progress(
            TextColumn("rebuilding read models"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        ) as bar:
            task = bar.add_task("rebuild", total=total)
            count = ledger.rebuild_read_models(progress=lambda n: bar.update(task, completed=n))
        out.print(f"Rebuilt the read models from {count} events.")


def run() -> None:  # pragma: no cover - console entry for python -m
    main(obj={})


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
