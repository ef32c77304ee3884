"""``/``, ``/commitments/{id}``, ``/partners/{id}``, sign-in and sign-out, responses
to joint actions, and the feeds."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from markupsafe import Markup
from wtforms.validators import ValidationError

from application.core import NEW_ZEALAND
from application.credentials import Credential, MadeWith, WebSessions
from application.errors import NotFound
from application.ports import TimelineEntry
from domain.errors import DomainError
from domain.values import Actor, ActorRole
from domain.values import Response as ActionResponse
from interfaces.api.feedtokens import feed_tokens
from interfaces.api.http import csp_nonce, current_actor, services, session_caller
from interfaces.api.throttle import throttles
from interfaces.rendering import shown
from interfaces.web import charts
from interfaces.web.feeds import atom_feed, milestones_calendar

web = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")
PAGE = 20
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


# -- who is looking --------------------------------------------------------------------


def web_sessions() -> WebSessions:
    return WebSessions(services().web_sessions, services().credentials)


def signed_in() -> Actor | None:
    """The partner (or auditor/admin) signed in with a session cookie, if any: the
    cookie's session key must still be live on the server (not signed out, not
    expired, its token not revoked)."""
    live = signed_in_with()
    return live[1] if live else None


def signed_in_with() -> tuple[Credential, Actor] | None:
    """The credential the live session was signed in with, and its actor."""
    return session_caller()


def viewer() -> Actor | None:
    """The caller: a bearer token wins, then the session cookie."""
    return current_actor() or signed_in()


def page_text(value: Any) -> Any:
    """What every ``{{ … }}`` of a page shows: stored text without the characters no page
    can show (``interfaces.rendering``), pictures and other markup kept as markup."""
    if isinstance(value, Markup):
        return Markup(shown(str(value)))
    if isinstance(value, str):
        return shown(value)
    return value


@web.record_once
def show_stored_text(state: BlueprintSetupState) -> None:
    state.app.jinja_env.finalize = page_text


@web.app_context_processor
def page_context() -> dict[str, Any]:
    return {"me": g.get("web_viewer"), "csrf_token": generate_csrf}


@web.before_app_request
def remember_viewer() -> None:
    if not request.path.startswith("/api/"):
        g.web_viewer = viewer()


# -- formatting ------------------------------------------------------------------------


def long_date(value: date | str | None) -> str:
    if value is None or value == "":
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def when(value: datetime | str) -> str:
    at = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    at = at.astimezone(UTC)
    return f"{long_date(at.date())}, {at:%H:%M} UTC"


web.add_app_template_filter(long_date, "long_date")
web.add_app_template_filter(when, "when")


# Words of the vocabularies as people write them (the rest: the value with spaces).
LABELS = {
    "iwi_hapu": "iwi/hapū",
    "mid_term": "mid-term",
    "end_of_term": "end-of-term",
    "did_not_change": "did not change",
}


@web.app_template_filter("label")
def label(value: str | None) -> str:
    return LABELS.get(value or "", (value or "").replace("_", " "))


def entry_view(entry: TimelineEntry, titles: dict[UUID, str] | None = None) -> dict[str, Any]:
    return {
        "position": entry.position,
        "commitment_id": entry.commitment_id,
        "commitment_title": (titles or {}).get(entry.commitment_id),
        "kind": entry.kind,
        "summary": entry.summary,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "occurred_on": entry.occurred_on,
        "recorded_at": entry.recorded_at,
        "version": entry.version,
    }


# -- pages -----------------------------------------------------------------------------


@web.get("/")
def index() -> str:
    """Action plans and their commitments, with status, completion and progress."""
    q = (request.args.get("q") or "").strip()[:200] or None
    after = request.args.get("after") or None
    ledger = services().ledger
    me = g.get("web_viewer")
    page = ledger.list_commitments(me, q=q, limit=PAGE, after=after)
    plans: dict[str, list[dict[str, Any]]] = {}
    for summary in page.items:
        plans.setdefault(summary.action_plan, []).append(
            {
                "id": summary.id,
                "title": summary.title,
                "external_ref": summary.external_ref,
                "status": summary.status,
                "visibility": summary.visibility,
                "completion": summary.completion,
                "assessed_completion": summary.assessed_completion,
                "milestones_total": summary.milestones_total,
                "milestones_reached": summary.milestones_reached,
                "lead_names": summary.lead_names,
            }
        )
    pictures = {
        plan: charts.plan_chart(items, f"Milestones reached: {plan}", csp_nonce()) for plan, items in plans.items()
    }
    records = ledger.plan_rows()
    # Each heading links to the plan's page when the plan is on record (under any of its names).
    recorded = {name: row for row in records for name in row.names}
    return render_template(
        "index.html",
        plans=plans,
        pictures=pictures,
        q=q or "",
        next=page.next,
        records=records,
        recorded=recorded,
    )


def _commitment_or_404(commitment_id: UUID, me: Actor | None, as_of: datetime | None = None) -> dict[str, Any]:
    try:
        return services().ledger.get_commitment(commitment_id, me, as_of=as_of)
    except NotFound:
        abort(404)


def end_of_day(text: str) -> tuple[date, datetime]:
    """A page's ``as_of=YYYY-MM-DD``: the day, and the last instant of it in New Zealand
    (as reports' dates are New Zealand's). Anything else is a 400 page."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        abort(400, description="as_of must be a date written YYYY-MM-DD, e.g. 2015-06-30.")
    if len(text) != 10 or not MIN_DAY <= day <= MAX_DAY:
        abort(400, description="as_of must be a date written YYYY-MM-DD between 1900 and 2199.")
    return day, datetime.combine(day, time.max, NEW_ZEALAND)


MIN_DAY, MAX_DAY = date(1900, 1, 1), date(2199, 12, 31)


def timeline_until(commitment_id: UUID, me: Actor | None, until: datetime) -> list[TimelineEntry]:
    """The newest ``PAGE`` timeline entries recorded by ``until``."""
    ledger = services().ledger
    kept: list[TimelineEntry] = []
    after: str | None = None
    while len(kept) < PAGE:
        page = ledger.timeline(commitment_id, me, limit=100, after=after)
        kept.extend(e for e in page.items if e.recorded_at <= until)
        if page.next is None:
            break
        after = page.next
    return kept[:PAGE]


@web.get("/commitments/<uuid:commitment_id>")
def commitment(commitment_id: UUID) -> str:
    """The commitment, its partners and milestones, a picture of progress, and its
    shared timeline, newest first; with ``as_of=YYYY-MM-DD``, all of it as it stood at
    the end of that day (New Zealand time)."""
    me = g.get("web_viewer")
    as_of = request.args.get("as_of")
    past = end_of_day(as_of) if as_of else None
    document = _commitment_or_404(commitment_id, me, past[1] if past else None)
    after = request.args.get("after") or None
    if past is None:
        timeline = services().ledger.timeline(commitment_id, me, limit=PAGE, after=after)
        entries, more = timeline.items, timeline.next
    else:
        entries, more = timeline_until(commitment_id, me, past[1]), None
    names = {p["id"]: p["name"] for p in document["partners"]}
    for action in document["actions"]:
        for pid in [action["recorded_by"], *action["partner_ids"]]:
            if pid not in names:
                row = services().ledger.read_models.partner_row(UUID(pid))
                names[pid] = row.name if row else "a former partner"
    actions = []
    for action in reversed(document["actions"]):
        responses = {r["partner_id"]: r for r in action["responses"]}
        named = [
            {"id": pid, "name": names.get(pid, "a former partner"), "response": responses.get(pid)}
            for pid in action["partner_ids"]
        ]
        # The form is offered only where the service would take the response: a named
        # partner that is still a partner, once, on an active commitment and action
        # (and never on a page of the past).
        can_respond = (
            past is None
            and me is not None
            and str(me.id) in action["partner_ids"]
            and str(me.id) not in responses
            and any(p["id"] == str(me.id) for p in document["partners"])
            and action["status"] == "recorded"
            and document["status"] == "active"
        )
        actions.append(
            {
                **action,
                "named": named,
                "recorded_by_name": names.get(action["recorded_by"], "a former partner"),
                "can_respond": can_respond,
            }
        )
    return render_template(
        "commitment.html",
        c=document,
        plan=services().ledger.plan_of(document["action_plan"]),
        as_of=past[0] if past else None,
        actions=actions,
        entries=[entry_view(e) for e in entries],
        next=more,
        milestones_svg=charts.milestones_chart(document["milestones"], "Milestones due and reached", csp_nonce()),
        completion_svg=charts.completion_chart(
            document["progress"], document["assessments"], "Completion, as reported and as assessed", csp_nonce()
        ),
        reports=sorted(document["progress"], key=charts.report_day),
        is_partner=past is None and me is not None and any(p["id"] == str(me.id) for p in document["partners"]),
        feed_lifetimes=FEED_LIFETIMES,
        default_feed_lifetime=DEFAULT_FEED_LIFETIME,
    )


# What each kind of event is, in words (the history page's "what changed").
CHANGE_KINDS = {
    "CommitmentCreated": "created the commitment",
    "CommitmentAmended": "amended the commitment",
    "PartnerJoined": "added a partner",
    "PartnerLeft": "removed a partner",
    "MilestoneAdded": "added a milestone",
    "MilestoneChanged": "changed a milestone",
    "MilestoneReached": "reported a milestone reached",
    "JointActionRecorded": "recorded a joint action",
    "JointActionConfirmed": "confirmed a joint action",
    "JointActionDisputed": "disputed a joint action",
    "JointActionWithdrawn": "withdrew a joint action",
    "ProgressReported": "reported progress",
    "AssessmentRecorded": "recorded an independent assessment",
    "CommitmentWithdrawn": "withdrew the commitment",
}


@web.get("/commitments/<uuid:commitment_id>/history")
def history(commitment_id: UUID) -> str:
    """Every version of the commitment: when, who (and in what role), what kind of
    change, the reason given, and a link to what changed."""
    me = g.get("web_viewer")
    document = _commitment_or_404(commitment_id, me)
    versions = [
        {
            "version": event["version"],
            "recorded_at": event["recorded_at"],
            "actor": event["actor"],
            "kind": CHANGE_KINDS.get(event["type"], label(event["type"])),
            "reason": (event["data"].get("reason") if isinstance(event["data"], dict) else None),
        }
        for event in services().ledger.commitment_history(commitment_id, me)
    ]
    return render_template("history.html", c=document, versions=list(reversed(versions)))


def version_arg(name: str, newest: int) -> int:
    text = request.args.get(name, "")
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        abort(400, description=f"{name} must be a version number, from 1 to {newest}.")
    version = int(text)
    if not 1 <= version <= newest:
        abort(404)
    return version


@web.get("/commitments/<uuid:commitment_id>/diff")
def diff(commitment_id: UUID) -> str:
    """What changed between two versions (``from`` and ``to``, in either order),
    partners, milestones, joint actions and assessments included."""
    me = g.get("web_viewer")
    ledger = services().ledger
    current = _commitment_or_404(commitment_id, me)
    start, end = version_arg("from", current["version"]), version_arg("to", current["version"])
    try:
        before = ledger.get_commitment(commitment_id, me, version=start)
        after = ledger.get_commitment(commitment_id, me, version=end)
        changes = ledger.diff(commitment_id, start, end, me)
    except NotFound:
        abort(404)
    names = partner_names(before, after)
    return render_template(
        "diff.html",
        c=current,
        start=start,
        end=end,
        rows=[change_view(change, before, after, names) for change in changes],
    )


RELATIONS = {
    "partners": ("Partner", "name"),
    "milestones": ("Milestone", "title"),
    "actions": ("Joint action", "summary"),
    "assessments": ("Assessment", "stage"),
    "progress": ("Progress report", "as_of"),
}


def change_view(
    change: dict[str, Any], before: dict[str, Any], after: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    """A diff's change as the page shows it: what it is about, in words, and the two
    sides as text (a relation that appeared or went as its fields; partners by name)."""
    parts = change["path"].split(".")
    field = parts[-1] if len(parts) > 2 else None
    if parts[0] in RELATIONS:
        noun, named_by = RELATIONS[parts[0]]
        item = _item(before, parts[0], parts[1]) or _item(after, parts[0], parts[1]) or {}
        name = item.get(named_by)
        what = f"{noun} “{label(str(name))}”" if name else noun
        if field is None:
            what += ": added" if change["before"] is None else ": removed" if change["after"] is None else ""
        else:
            what += f": {label(field)}"
    else:
        what = label(parts[0])
    return {
        "what": what,
        "before": shown_value(change["before"], names),
        "after": shown_value(change["after"], names),
    }


def _item(document: dict[str, Any], collection: str, key: str) -> dict[str, Any] | None:
    items = document.get(collection) or []
    if collection == "progress":
        return items[int(key)] if key.isdigit() and int(key) < len(items) else None
    return next((item for item in items if item.get("id") == key), None)


# Fields of a relation the diff page leaves out: ids and versions say nothing to a reader.
UNSHOWN = frozenset({"id", "commitment_id", "version"})


def shown_value(value: Any, names: dict[str, str]) -> str:
    """A document value as short text: lists joined, objects as ``field: value`` pairs
    without their ids, partners' ids as their names."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(shown_value(v, names) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(
            f"{label(k.removesuffix('_id').removesuffix('_ids'))}: {shown_value(v, names)}"
            for k, v in value.items()
            if k not in UNSHOWN and v not in (None, [], {})
        )
    return names.get(str(value), str(value))


def partner_names(*documents: dict[str, Any]) -> dict[str, str]:
    """Names of every partner the documents mention, by id (members by the names they
    have now; former members and others named in joint actions from the directory)."""
    names = {p["id"]: p["name"] for document in documents for p in document["partners"]}
    for document in documents:
        for action in document["actions"]:
            for pid in [action["recorded_by"], *action["partner_ids"], *(r["partner_id"] for r in action["responses"])]:
                if pid not in names:
                    row = services().ledger.read_models.partner_row(UUID(pid))
                    names[pid] = row.name if row else "a former partner"
    return names


@web.get("/plans/<uuid:plan_id>")
def plan(plan_id: UUID) -> str:
    """An action plan: its period, status and amendments, and the roll-up of the
    commitments the viewer may see (completion as self-reported and as assessed,
    milestones due and reached), in figures and pictures."""
    me = g.get("web_viewer")
    try:
        rollup = services().ledger.plan_rollup(plan_id, me)
    except NotFound:
        abort(404)
    document = rollup.document
    items = [
        {
            "id": c.id,
            "title": c.title,
            "external_ref": c.external_ref,
            "status": c.status,
            "visibility": c.visibility,
            "completion": c.completion,
            "assessed_completion": c.assessed_completion,
            "milestones_total": c.milestones_total,
            "milestones_reached": c.milestones_reached,
            "lead_names": c.lead_names,
        }
        for c in rollup.commitments
    ]
    milestones = [
        {"due_on": due.isoformat(), "reached_on": reached.isoformat() if reached else None}
        for due, reached in rollup.milestones
    ]
    nonce = csp_nonce()
    return render_template(
        "plan.html",
        p=document,
        items=items,
        levels=["not_started", "limited", "substantial", "complete"],
        completion_svg=charts.completion_rollup_chart(
            document["completion_counts"],
            document["assessed_completion_counts"],
            "Completion of the commitments",
            nonce,
        ),
        milestones_svg=charts.milestones_chart(milestones, "Milestones due and reached, across the plan", nonce),
        commitments_svg=charts.plan_chart(items, "Milestones reached, by commitment", nonce),
    )


@web.get("/partners/<uuid:partner_id>")
def partner(partner_id: UUID) -> str:
    """A partner's commitments and their combined timeline."""
    me = g.get("web_viewer")
    ledger = services().ledger
    try:
        document = ledger.get_partner(partner_id)
    except NotFound:
        abort(404)
    after = request.args.get("after") or None
    commitments = ledger.list_commitments(me, partner_id=partner_id, limit=100).items
    timeline = ledger.partner_timeline(partner_id, me, limit=PAGE, after=after)
    titles = {c.id: c.title for c in commitments}
    own = me is not None and me.is_partner and me.id == partner_id
    feeds = feed_tokens().of_partner(me, datetime.now(UTC)) if me is not None and own else []
    return render_template(
        "partner.html",
        p=document,
        commitments=commitments,
        entries=[entry_view(e, titles) for e in timeline.items],
        next=timeline.next,
        feeds=feeds,
    )


# -- signing in ------------------------------------------------------------------------


def check_csrf() -> None:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        abort(400, description="The form expired or did not come from this site. Reload the page and try again.")


@web.get("/signin")
def signin_form() -> str:
    return render_template("signin.html", next=_safe_next(request.args.get("next")))


def _safe_next(target: str | None) -> str:
    """Only a path of this site, never another host. Browsers drop tabs and line breaks
    from a URL and read a backslash as a slash, so ``/<tab>/evil.example`` would be
    ``//evil.example``: any control character, space or backslash sends you home instead."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not any(c.isspace() or c == "\\" or unicodedata.category(c) == "Cc" for c in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("web.index")


@web.post("/signin")
def signin() -> Response:
    check_csrf()
    limit = throttles().sign_in
    limit.check()
    token = (request.form.get("token") or "").strip()
    target = _safe_next(request.form.get("next"))
    begun = web_sessions().begin(token, datetime.now(UTC), current_app.permanent_session_lifetime) if token else None
    if begun is None:
        limit.count()
        flash("That token is not known (or was revoked). Check it and try again.", "error")
        return cast(Response, redirect(url_for("web.signin_form", next=target), code=303))
    key, actor = begun
    session.clear()
    session["sid"] = key
    session.permanent = True
    flash(f"Signed in as {actor.name}.", "info")
    return cast(Response, redirect(target, code=303))


@web.post("/signout")
def signout() -> Response:
    check_csrf()
    key = session.get("sid")
    if isinstance(key, str) and key:
        web_sessions().end(key)
    session.clear()
    flash("Signed out.", "info")
    return cast(Response, redirect(url_for("web.index"), code=303))


# -- responding to a joint action ------------------------------------------------------------


@web.post("/commitments/<uuid:commitment_id>/actions/<uuid:action_id>/response")
def respond(commitment_id: UUID, action_id: UUID) -> Response:
    """A signed-in partner named in a joint action confirms or disputes it."""
    check_csrf()
    me = signed_in()
    if me is None:
        return cast(Response, redirect(url_for("web.signin_form", next=request.path), code=303))
    choice = request.form.get("response")
    if choice not in ("confirmed", "disputed"):
        abort(400, description="Choose confirm or dispute.")
    # Browsers send a text area's line breaks as CR LF; a note keeps line feeds only.
    note = (request.form.get("note") or "").replace("\r\n", "\n").strip() or None
    try:
        services().ledger.respond_to_action(
            commitment_id,
            action_id,
            response=ActionResponse(choice),
            note=note,
            actor=me,
            request_id=f"web-{uuid4().hex}",
        )
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error).capitalize() + ".", "error")
    else:
        flash(
            "Thank you: your confirmation is on the timeline."
            if choice == "confirmed"
            else "Your dispute is on the timeline.",
            "info",
        )
    return cast(Response, redirect(url_for("web.commitment", commitment_id=commitment_id) + "#timeline", code=303))


# -- feeds ------------------------------------------------------------------------------------


def feed_viewer() -> Actor | None:
    """Feeds take a token in the header, a session, or a partner's feed token in the URL."""
    me = viewer()
    if me is not None:
        return me
    token = request.args.get("token")
    if token:
        limit = throttles().unknown_token
        limit.check()
        partner_id = feed_tokens().partner_of(token, datetime.now(UTC))
        if partner_id is None:
            limit.count()
            abort(404)
        return Actor(ActorRole.COMMUNITY, partner_id, "feed reader")
    return None


@web.get("/commitments/<uuid:commitment_id>/feed.atom")
def feed(commitment_id: UUID) -> Response:
    me = feed_viewer()
    document = _commitment_or_404(commitment_id, me)
    entries = services().ledger.timeline(commitment_id, me, limit=100).items
    body = atom_feed(document, entries, request.url_root.rstrip("/"))
    return Response(body, mimetype="application/atom+xml")


@web.get("/commitments/<uuid:commitment_id>/milestones.ics")
def calendar(commitment_id: UUID) -> Response:
    me = feed_viewer()
    document = _commitment_or_404(commitment_id, me)
    body = milestones_calendar(document, request.url_root.rstrip("/"))
    return Response(body, mimetype="text/calendar")


# How long a private feed link made on a page works (in days; "" for until revoked).
FEED_LIFETIMES = {"30": "30 days", "90": "90 days", "365": "a year", "": "until I revoke it"}
DEFAULT_FEED_LIFETIME = "365"


@web.post("/feeds")
def new_feed_token() -> str:
    """A signed-in partner gets a private feed link (shown once). It works until it
    expires, is revoked, or the token the partner signed in with is revoked."""
    check_csrf()
    live = signed_in_with()
    if live is None or not live[1].is_partner:
        abort(403, description="Sign in as a partner to get a private feed link.")
    credential, me = live
    days = request.form.get("expires_in_days", DEFAULT_FEED_LIFETIME)
    if days not in FEED_LIFETIMES:
        abort(400, description="Choose how long the feed link should work.")
    lifetime = timedelta(days=int(days)) if days else None
    feed, token = feed_tokens().issue(me, credential, MadeWith.SESSION, datetime.now(UTC), lifetime)
    try:
        commitment_id = str(UUID(request.form.get("commitment_id") or ""))
    except ValueError:
        commitment_id = ""
    return render_template("feed_token.html", token=token, commitment_id=commitment_id, feed=feed)


@web.post("/feeds/<uuid:token_id>/revocation")
def revoke_feed_token(token_id: UUID) -> Response:
    check_csrf()
    me = signed_in()
    if me is None:
        abort(403, description="Sign in to revoke your feed links.")
    try:
        feed_tokens().revoke(me, token_id, datetime.now(UTC))
    except NotFound:
        abort(404)
    flash("That feed link no longer works.", "info")
    return cast(Response, redirect(url_for("web.partner", partner_id=me.id), code=303))
