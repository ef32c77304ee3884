"""The ``tutahi`` command line."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4, uuid5

import click
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from application.credentials import Credentials, FeedTokens, article
from application.demo import import_copies, load_demo
from application.errors import ApplicationError
from application.imports import ImportRefused
from application.ledger import Ledger
from application.notes import COSIGNATURE, NoteError, NoteKey
from application.offline import verify_export, verify_export_note
from application.replay import ReplayError, replay
from application.transparency import TransparencyLog
from domain.errors import DomainError
from domain.values import Actor, ActorRole, PartnerKind, PlanStatus
from infrastructure.credentials import SqlCredentialStore, SqlFeedTokenStore
from infrastructure.keys import InsecureKeyFile, check_key_files, verify_ed25519, verify_signature
from infrastructure.store import StoreMisconfigured, database_url
from infrastructure.transparency import TransparencySettingsError
from infrastructure.upgrade import UpgradeRefused
from interfaces.api.schemas import CommitmentSchema
from interfaces.api.views import credential_doc, feed_token_doc, partner_row_doc
from interfaces.composition import open_auditor, open_ledger, open_transparency
from interfaces.opendata import read_import
from interfaces.rendering import escaped_json, one_line, shown
from interfaces.witness import witness

LONG_FILE = 200  # lines from which an import shows its progress (on a terminal)
CLI_NAMESPACE = UUID("6d1f3a52-8f6c-5b7e-a1d4-3c9e0b2f4a61")
# Stored text is printed as it is: no console markup ("[link=…]", "[/]"), no emoji codes.
out = Console(markup=False, emoji=False, highlight=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)


def text(value: str) -> Text:
    """Stored text for a table: never read as markup, and without the control characters
    (escape sequences among them) that a terminal would obey (``interfaces.rendering``)."""
    return Text(shown(value))


def print_json(documents: list[dict[str, Any]]) -> None:
    """``--json``: one JSON array on standard output, for scripts."""
    click.echo(escaped_json(json.dumps(documents, ensure_ascii=False, indent=2, default=str)))


JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")


def cli_admin() -> Actor:
    """The person at the terminal acts as an admin, named by their login."""
    name = f"command line ({getpass.getuser()})"
    return Actor(ActorRole.ADMIN, uuid5(CLI_NAMESPACE, name), name)


def fail(message: str) -> None:
    raise click.ClickException(message)


class UpgradeProgress:
    """A progress bar for the upgrade of a store written by an earlier release, shown
    only if one is needed."""

    def __init__(self) -> None:
        self.bar: Progress | None = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = _progress("upgrading the store to this release's log", total)
            self.bar.start()
            self.task = self.bar.add_task("upgrade", total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            err.print("The store was upgraded: every event, leaf and checkpoint is as it was.")


@contextmanager
def ledger_for(ctx: click.Context) -> Iterator[Ledger]:
    """Opens the store named on the command line (upgrading one of an earlier release,
    with a progress bar), turning every refusal into a one-line error and a non-zero
    exit."""
    url = database_url(ctx.obj["database_url"])
    upgrade = UpgradeProgress()
    try:
        ledger = open_ledger(url, progress=upgrade)
    except StoreMisconfigured as error:
        fail(f"the store at {url} is not durable: {error}")
    except UpgradeRefused as error:
        fail(f"the store at {url} was not upgraded: {error}")
    except (SQLAlchemyError, PersistenceError, OSError) as error:
        fail(f"cannot open the store at {url}: {type(error).__name__}: {str(error).splitlines()[0]}")
    finally:
        upgrade.close()
    try:
        yield ledger
    except (DomainError, ApplicationError, InsecureKeyFile) as error:
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
@click.option(
    "--instance-path",
    envvar="TUTAHI_INSTANCE_PATH",
    default=None,
    help="Folder for the checkpoint signing key (default: instance/ in the current folder; made at first start).",
)
@click.option(
    "--log-origin",
    envvar="TUTAHI_LOG_ORIGIN",
    default=None,
    help="The log's name in its signed checkpoints (default: localhost/tutahi), e.g. tutahi.example.govt.nz/log.",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None, instance_path: str | None, log_origin: str | None) -> None:
    """Tūtahi: commitments that communities and government keep together, on the record."""
    ctx.ensure_object(dict)
    ctx.obj["database_url"] = database_url
    ctx.obj["instance_path"] = instance_path
    if log_origin is not None:
        os.environ["TUTAHI_LOG_ORIGIN"] = log_origin  # read where the log is opened, here and in `serve`


@main.command()
@click.option(
    "--copies",
    default=0,
    show_default=True,
    type=click.IntRange(0, 1_000_000),
    help="Also import this many copies of the plan (own ids, 'NZ0001-copy-7'), for load and scale trials.",
)
@click.pass_context
def demo(ctx: click.Context, copies: int) -> None:
    """Load New Zealand's 2014–16 action plan (running it twice changes nothing)."""
    with ledger_for(ctx) as ledger:
        result = load_demo(ledger, progress=lambda line: err.print(f"  {line}"))
        out.print(
            f"Demo data: {result.partners_added} partners, {result.plans_added} action plans, "
            f"{result.commitments_added} commitments, "
            f"{result.events_added} events added; the log holds {ledger.log_size()} events."
        )
        if copies:
            with _progress("importing copies of the plan", copies) as bar:
                task = bar.add_task("copies", total=copies)
                imported = import_copies(ledger, copies, progress=lambda done, _: bar.update(task, completed=done))
            out.print(
                f"Copies: {imported.copies_added} of {copies} imported ({imported.events_added} events); "
                f"the log holds {ledger.log_size()} events."
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
                title=text(f"{document['external_ref']} · {document['title']}"),
                caption=text(f"{document['action_plan']} · {document['status']} · completion: {completion}"),
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
                    text(entry.summary),
                )
            out.print(table)


def _all(page: Callable[[str | None], Any]) -> list[Any]:
    items: list[Any] = []
    after: str | None = None
    while True:
        result = page(after)
        items.extend(result.items)
        if result.next is None:
            return items
        after = result.next


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "partner", required=True, metavar="PARTNER_ID", help="The agency importing (a partner's id).")
@click.option("--dry-run", is_flag=True, help="Check the file and list the events it would record; record none.")
@click.pass_context
def import_file(ctx: click.Context, file: str, partner: str, dry_run: bool) -> None:
    """Import commitments and milestones from a CSV file, all or nothing, as an agency.

    One row per milestone, keyed by the OGP id (external_ref), in the import format the
    README describes. Each bad row is printed on a line of its own, and then nothing is
    recorded. A dry run lists the events the file would record, one a line."""
    partner_id = parse_uuid(partner, "partner")
    try:
        with open(file, "rb") as handle:
            content = handle.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text")
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror}")
    with ledger_for(ctx) as ledger:
        try:
            agency = ledger.load_partner(partner_id)
        except ApplicationError:
            fail(f"no partner {partner_id}")
        if agency.kind is not PartnerKind.AGENCY:
            fail(f"{shown(agency.name)} is not an agency: only agencies import commitments")
        actor = Actor(ActorRole.AGENCY, agency.id, agency.name)
        lines = content.count("\n") + 1
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal or lines < LONG_FILE,
        ) as bar:
            reading = bar.add_task("reading", total=lines)
            rows, bad_rows = read_import(content, progress=lambda n: bar.advance(reading, n))
            bar.update(reading, completed=lines)
            checking = bar.add_task("checking and recording" if not dry_run else "checking", total=len(rows))
            try:
                outcome = ledger.import_rows(
                    rows,
                    bad_rows=bad_rows,
                    actor=actor,
                    request_id=f"cli-import-{uuid4()}",
                    dry_run=dry_run,
                    progress=lambda n: bar.advance(checking, n),
                )
            except ImportRefused as refused:
                bar.stop()
                for bad in refused.errors:
                    column = f" {bad.column}:" if bad.column else ""
                    err.print(f"{file}:{bad.line}:{column} {one_line(bad.message)}", soft_wrap=True)
                lines = len({bad.line for bad in refused.errors})
                fail(f"{lines} bad row(s) in {file}: nothing was recorded")
                return
        if dry_run:
            for event in outcome.events:
                out.print(f"line {event.line}: {one_line(event.external_ref)} {event.type}", soft_wrap=True)
        kinds = Counter(event.type for event in outcome.events)
        counted = f" ({', '.join(f'{n} {kind}' for kind, n in kinds.items())})" if kinds else ""
        verb = "would be recorded" if dry_run else "recorded"
        out.print(f"{file}: {outcome.rows} rows; {len(outcome.events)} events {verb}{counted}.", soft_wrap=True)


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
        err.print(f"Registered {shown(name)} ({kind}).")
        click.echo(str(result.created_id))


@partners.command("list")
@click.option("--q", default=None, help="Search (ignores case and macrons).")
@click.option("--kind", default=None, type=click.Choice([k.value for k in PartnerKind]))
@JSON_OPTION
@click.pass_context
def partners_list(ctx: click.Context, q: str | None, kind: str | None, as_json: bool) -> None:
    """List registered partners."""
    with ledger_for(ctx) as ledger:
        rows = _all(lambda after: ledger.list_partners(q=q, kind=kind, after=after))
        if as_json:
            print_json([partner_row_doc(row) for row in rows])
            return
        table = Table("name", "kind")
        table.add_column("id", no_wrap=True, min_width=36)
        for row in rows:
            table.add_row(text(row.name), row.kind, str(row.id))
        out.print(table)


DAY = click.DateTime(formats=["%Y-%m-%d"])


@main.group()
def plans() -> None:
    """Record, amend and list action plans (commitments belong to a plan by its name)."""


@plans.command("add")
@click.option("--name", required=True, help="The plan's name, as its commitments' action_plan gives it.")
@click.option("--starts-on", required=True, type=DAY, help="YYYY-MM-DD")
@click.option("--ends-on", required=True, type=DAY, help="YYYY-MM-DD")
@click.option("--status", default="consultation", show_default=True, type=click.Choice([s.value for s in PlanStatus]))
@click.pass_context
def plans_add(ctx: click.Context, name: str, starts_on: datetime, ends_on: datetime, status: str) -> None:
    """Record an action plan; prints its id alone on the last line."""
    with ledger_for(ctx) as ledger:
        result = ledger.create_plan(
            name=name,
            starts_on=starts_on.date(),
            ends_on=ends_on.date(),
            status=PlanStatus(status),
            actor=cli_admin(),
            request_id=f"cli-{uuid4()}",
        )
        err.print(f"Recorded the plan {shown(name)} ({status}).")
        click.echo(str(result.created_id))


@plans.command("amend")
@click.argument("plan_id")
@click.option("--reason", required=True, help="Why the plan changes.")
@click.option("--name", default=None)
@click.option("--starts-on", default=None, type=DAY, help="YYYY-MM-DD")
@click.option("--ends-on", default=None, type=DAY, help="YYYY-MM-DD")
@click.option("--status", default=None, type=click.Choice([s.value for s in PlanStatus]))
@click.option("--on", "occurred_on", default=None, type=DAY, help="The date the change was made (default: today).")
@click.pass_context
def plans_amend(
    ctx: click.Context,
    plan_id: str,
    reason: str,
    name: str | None,
    starts_on: datetime | None,
    ends_on: datetime | None,
    status: str | None,
    occurred_on: datetime | None,
) -> None:
    """Amend a plan's name, period or status, giving a reason."""
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("name", name),
            ("starts_on", starts_on.date() if starts_on else None),
            ("ends_on", ends_on.date() if ends_on else None),
            ("status", PlanStatus(status) if status else None),
        )
        if value is not None
    }
    with ledger_for(ctx) as ledger:
        result = ledger.amend_plan(
            parse_uuid(plan_id, "plan id"),
            changes=changes,
            reason=reason,
            occurred_on=occurred_on.date() if occurred_on else None,
            actor=cli_admin(),
            request_id=f"cli-{uuid4()}",
        )
        err.print(f"Amended the plan: version {result.version}.")


@plans.command("list")
@JSON_OPTION
@click.pass_context
def plans_list(ctx: click.Context, as_json: bool) -> None:
    """List action plans, the latest first, with their roll-ups (every commitment counted)."""
    with ledger_for(ctx) as ledger:
        documents = ledger.list_plans(cli_admin())
        if as_json:
            print_json(documents)
            return
        table = Table("name", "status", "period", "commitments", "milestones reached")
        table.add_column("id", no_wrap=True, min_width=36)
        for d in documents:
            table.add_row(
                text(d["name"]),
                d["status"],
                f"{d['starts_on']} to {d['ends_on']}",
                str(d["commitments"]),
                f"{d['milestones_reached']} of {d['milestones_due']}",
                d["id"],
            )
        out.print(table)


def credentials_for(ledger: Ledger) -> Credentials:
    return Credentials(SqlCredentialStore(ledger.recorder), ledger)


@main.group()
def tokens() -> None:
    """Issue, list and revoke bearer tokens (only their hashes are stored)."""


@tokens.command("issue")
@click.option("--role", required=True, type=click.Choice([r.value for r in ActorRole]))
@click.option("--partner", "partner", default=None, help="The partner's id (agency and community tokens).")
@click.option("--name", default=None, help="The office or person (auditor and admin tokens).")
@click.pass_context
def tokens_issue(ctx: click.Context, role: str, partner: str | None, name: str | None) -> None:
    """Issue a token; prints it alone on the last line, once."""
    with ledger_for(ctx) as ledger:
        partner_id = parse_uuid(partner, "partner id") if partner is not None else None
        issued = credentials_for(ledger).issue(ActorRole(role), partner_id=partner_id, name=name, now=datetime.now(UTC))
        err.print(
            f"Issued {article(role)} {role} token {issued.credential.id} to {shown(issued.credential.holder_name)}. "
            "It is shown once: keep it safe."
        )
        click.echo(issued.token)


@tokens.command("list")
@JSON_OPTION
@click.pass_context
def tokens_list(ctx: click.Context, as_json: bool) -> None:
    """List tokens: ids, roles, holders (never the secret)."""
    with ledger_for(ctx) as ledger:
        listed = credentials_for(ledger).list()
        if as_json:
            print_json([credential_doc(credential) for credential in listed])
            return
        table = Table("role", "holder", "issued (UTC)", "revoked (UTC)")
        table.add_column("id", no_wrap=True, min_width=36)
        for credential in listed:
            table.add_row(
                credential.role.value,
                text(credential.holder_name),
                credential.issued_at.strftime("%Y-%m-%d %H:%M"),
                credential.revoked_at.strftime("%Y-%m-%d %H:%M") if credential.revoked_at else "",
                str(credential.id),
            )
        out.print(table)


@tokens.command("revoke")
@click.argument("token_id")
@click.pass_context
def tokens_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke a token; it is unknown from then on."""
    with ledger_for(ctx) as ledger:
        credential = credentials_for(ledger).revoke(parse_uuid(token_id, "token id"), datetime.now(UTC))
        out.print(f"Revoked token {credential.id} of {shown(credential.holder_name)}.")


def feed_tokens_for(ledger: Ledger) -> FeedTokens:
    return FeedTokens(SqlFeedTokenStore(ledger.recorder), credentials_for(ledger))


@main.group()
def feeds() -> None:
    """List and revoke partners' private feed links (feed tokens)."""


@feeds.command("list")
@click.option("--partner", "partner", default=None, help="Only this partner's feed tokens.")
@JSON_OPTION
@click.pass_context
def feeds_list(ctx: click.Context, partner: str | None, as_json: bool) -> None:
    """List feed tokens: ids, partners, when made, expiry and whether they still work (never the secret)."""
    with ledger_for(ctx) as ledger:
        feed_tokens = feed_tokens_for(ledger)
        listed = feed_tokens.visible_to(cli_admin())
        if partner is not None:
            partner_id = parse_uuid(partner, "partner id")
            listed = [feed for feed in listed if feed.partner_id == partner_id]
        now = datetime.now(UTC)
        documents = [feed_token_doc(feed, feed_tokens.is_live(feed, now)) for feed in listed]
        if as_json:
            print_json(documents)
            return
        names = {row.id: row.name for row in _all(lambda after: ledger.list_partners(after=after))}
        table = Table("partner", "made with", "issued (UTC)", "expires (UTC)", "works")
        table.add_column("id", no_wrap=True, min_width=36)
        for feed, document in zip(listed, documents, strict=True):
            table.add_row(
                text(names.get(feed.partner_id, str(feed.partner_id))),
                document["made_with"] or "before 1.1",
                feed.issued_at.strftime("%Y-%m-%d %H:%M"),
                feed.expires_at.strftime("%Y-%m-%d %H:%M") if feed.expires_at else "never",
                "yes" if document["active"] else "no",
                str(feed.id),
            )
        out.print(table)


@feeds.command("revoke")
@click.argument("feed_token_id")
@click.pass_context
def feeds_revoke(ctx: click.Context, feed_token_id: str) -> None:
    """Revoke a feed token; feeds opened with it answer 404 from then on."""
    with ledger_for(ctx) as ledger:
        token_id = parse_uuid(feed_token_id, "feed token id")
        feed = feed_tokens_for(ledger).revoke(cli_admin(), token_id, datetime.now(UTC))
        out.print(f"Revoked feed token {feed.id} of partner {feed.partner_id}.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="Processes (SQLite: always 1).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int | None, threads: int) -> None:
    """Run the service under gunicorn (SQLite: one process with threads;
    PostgreSQL: several worker processes)."""
    from interfaces.api.throttle import rate_limit_storage, shared_across_processes
    from interfaces.app import BadProxySetting, trusted_proxies
    from interfaces.serve import exec_server, server_options

    url = database_url(ctx.obj["database_url"])
    try:
        trusted_proxies()
    except BadProxySetting as error:
        fail(str(error))
    processes = server_options(url, host=host, port=port, workers=workers, threads=threads)["workers"]
    if processes > 1 and not shared_across_processes(rate_limit_storage()):
        fail(
            f"rate limits would be counted apart in each of {processes} worker processes: set "
            "TUTAHI_RATE_LIMIT_STORAGE=redis://127.0.0.1:6379 (a Redis they share), or serve with --workers 1"
        )
    with transparency_for(ctx):
        # Fail early, in one line, on a store, key, origin or witness a worker would refuse.
        check_key_files(ctx.obj["instance_path"])
    exec_server(url, host=host, port=port, workers=workers, threads=threads, instance=ctx.obj["instance_path"])


@main.group()
def audit() -> None:
    """Verify, export and check the verifiable log."""


def _progress(label: str, total: int | None) -> Progress:
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=False
    )


def _read_json(path: str, what: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as error:
        fail(f"cannot read the {what} file {path}: {error}")
    if not isinstance(document, dict):
        fail(f"the {what} file {path} does not hold a JSON object")
    return cast(dict[str, Any], document)


@contextmanager
def transparency_for(ctx: click.Context) -> Iterator[TransparencyLog]:
    """The store's transparency log (its witnesses asked to cosign new checkpoints)."""
    with ledger_for(ctx) as ledger:
        try:
            transparency = open_transparency(open_auditor(ledger, ctx.obj["instance_path"]))
        except TransparencySettingsError as error:
            fail(str(error))
            raise
        try:
            yield transparency
        finally:
            if transparency.witnesses is not None:
                transparency.witnesses.close()


@audit.command("checkpoint")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None, help="Save it to this file.")
@click.option("--note", is_flag=True, help="As the signed note of GET /log/checkpoint, with witnesses' cosignatures.")
@click.pass_context
def audit_checkpoint(ctx: click.Context, output: str | None, note: bool) -> None:
    """Print (or save) a signed checkpoint at the log's current size."""
    with transparency_for(ctx) as transparency:
        if note:
            text = transparency.checkpoint_note().decode("utf-8")
            size = text.split("\n")[1]
        else:
            document = transparency.auditor.checkpoint().document()
            text, size = json.dumps(document, indent=2) + "\n", document["tree_size"]
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            err.print(f"Saved the checkpoint at size {size} to {output}.")
        else:
            click.echo(text, nl=False)


@audit.command("public-key")
@click.pass_context
def audit_public_key(ctx: click.Context) -> None:
    """Print the public key that signs checkpoints (as GET /audit/public-key does)."""
    with transparency_for(ctx) as transparency:
        click.echo(json.dumps(transparency.public_key(), indent=2))


@audit.command("verify")
@click.option(
    "--checkpoint", "checkpoint_file", default=None, help="A checkpoint saved earlier, to check the log extends it."
)
@click.pass_context
def audit_verify(ctx: click.Context, checkpoint_file: str | None) -> None:
    """Recompute every leaf and root from the stored events; exit non-zero at the first bad position."""
    against = _read_json(checkpoint_file, "checkpoint") if checkpoint_file else None
    with ledger_for(ctx) as ledger:
        auditor = open_auditor(ledger, ctx.obj["instance_path"])
        with _progress("verifying", None) as bar:
            task = bar.add_task("verify", total=auditor.size())
            try:
                verdict = auditor.verify(against, progress=lambda n: bar.update(task, completed=n))
            except TypeError as error:
                fail(f"the checkpoint file is not a checkpoint: {error}")
        if not verdict.ok:
            where = f" at position {verdict.first_bad_position}" if verdict.first_bad_position is not None else ""
            fail(f"verification failed{where}: {verdict.detail}")
        out.print(f"OK: {verdict.detail} (tree size {verdict.tree_size}).")


@audit.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.pass_context
def audit_export(ctx: click.Context, file: str) -> None:
    """Export the whole log as JSON Lines, one event document per line."""
    with ledger_for(ctx) as ledger:
        auditor = open_auditor(ledger, ctx.obj["instance_path"])
        with _progress("exporting", None) as bar, open(file, "wb") as handle:
            task = bar.add_task("export", total=auditor.size())
            done = [0]

            def exported(count: int) -> None:
                done[0] = count
                bar.update(task, completed=count)

            for chunk in auditor.export_chunks(progress=exported):
                handle.write(chunk)
        out.print(f"Exported {done[0]} events to {file}.")


@audit.command("verify-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--checkpoint",
    "checkpoint_file",
    required=True,
    help="The checkpoint: the JSON document of GET /audit/checkpoint, or the signed note of GET /log/checkpoint.",
)
@click.option("--public-key", "key_file", required=True, help="The public key document (GET /audit/public-key).")
@click.option(
    "--witness",
    "witness_keys",
    multiple=True,
    help="A witness's cosignature verifier key (repeatable); needs the signed-note checkpoint.",
)
@click.option(
    "--quorum",
    type=click.IntRange(0),
    default=None,
    help="How many of the --witness keys must have cosigned the checkpoint (default: all of them).",
)
def audit_verify_export(
    file: str, checkpoint_file: str, key_file: str, witness_keys: tuple[str, ...], quorum: int | None
) -> None:
    """Check an export against a signed checkpoint, offline: no store, no service."""
    public_key = _read_json(key_file, "public key")
    try:
        witnesses = [NoteKey.parse(key) for key in witness_keys]
    except NoteError as error:
        fail(f"--witness: {error}")
        raise
    if any(witness.kind != COSIGNATURE for witness in witnesses):
        fail("--witness takes a witness's cosignature verifier key (type 0x04), as `tutahi witness init` prints it")
    needed = len(witnesses) if quorum is None else quorum
    if needed > len(witnesses):
        fail(f"--quorum {needed} needs at least {needed} --witness keys")
    try:
        with open(checkpoint_file, "rb") as handle:
            checkpoint_bytes = handle.read(1 << 20)
    except OSError as error:
        fail(f"cannot read the checkpoint file {checkpoint_file}: {error}")
        raise
    is_note = not checkpoint_bytes.lstrip().startswith(b"{")
    if witnesses and not is_note:
        fail("witnesses cosign the signed-note checkpoint: pass the note of GET /log/checkpoint as --checkpoint")
    with _progress("verifying export", None) as bar, open(file, "rb") as handle:
        task = bar.add_task("verify", total=None)
        progress = lambda n: bar.update(task, completed=n)  # noqa: E731
        if is_note:
            verdict = verify_export_note(
                handle, checkpoint_bytes, public_key, witnesses, needed, verify_ed25519, progress
            )
        else:
            verdict = verify_export(
                handle, _read_json(checkpoint_file, "checkpoint"), public_key, verify_signature, progress
            )
    if not verdict.ok:
        where = f" at position {verdict.first_bad_position}" if verdict.first_bad_position is not None else ""
        fail(f"verification failed{where}: {verdict.detail}")
    out.print(f"OK: {verdict.detail}.")


@audit.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--commitment", "commitment_id", default=None, help="The commitment's id.")
@click.option("--all", "everything", is_flag=True, help="Every commitment, one JSON document per line.")
@click.option("--version", type=click.IntRange(1), default=None, help="As it was at this version.")
@click.option(
    "--as-of", default=None, help="As it was recorded to be at this instant (RFC 3339, e.g. 2015-06-30T00:00:00Z)."
)
def audit_replay(
    file: str, commitment_id: str | None, everything: bool, version: int | None, as_of: str | None
) -> None:
    """Rebuild commitments from an export file alone (no store, no service), as GET /commitments/{id} shows them."""
    if everything == (commitment_id is not None):
        fail("give --commitment ID or --all")
    if version is not None and as_of is not None:
        fail("give --version or --as-of, not both")
    if everything and version is not None:
        fail("--version is a version of one commitment: use it with --commitment")
    at = None
    if as_of is not None:
        try:
            at = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--as-of {as_of!r} is not an instant (e.g. 2015-06-30T00:00:00Z)")
            raise
        if at.tzinfo is None:
            fail("--as-of needs a time zone (use Z for UTC)")
    wanted = None if commitment_id is None else parse_uuid(commitment_id, "commitment id")
    try:
        with open(file, "rb") as handle:
            documents = replay(handle, wanted, version=version, as_of=at)
    except ReplayError as error:
        fail(str(error))
        raise
    schema = CommitmentSchema()
    if everything:
        for document in documents:
            click.echo(json.dumps(schema.dump(document), ensure_ascii=False))
    else:
        click.echo(json.dumps(schema.dump(documents[0]), ensure_ascii=False, indent=2))


@main.group()
def projections() -> None:
    """Read models built from the log."""


@projections.command("rebuild")
@click.pass_context
def projections_rebuild(ctx: click.Context) -> None:
    """Drop every read model and rebuild it from the log, in one transaction."""
    with ledger_for(ctx) as ledger:
        total = ledger.log_size()
        with Progress(
            TextColumn("rebuilding read models"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        ) as bar:
            task = bar.add_task("rebuild", total=total)
            count = ledger.rebuild_read_models(progress=lambda n: bar.update(task, completed=n))
        out.print(f"Rebuilt the read models from {count} events.")


main.add_command(witness)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
