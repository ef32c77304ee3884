"""RL6 (docs/targets.md): for random command sequences, at every version of a commitment,
full replay = snapshot + tail = the versioned query = the ``as_of`` query, and the live
aggregate equals the final replay. Snapshots are taken every 3 versions here, so that
snapshot + tail really differs from a full replay within a short sequence.

Joint actions are aggregates of their own: the commitment's documents show each as its
own events, replayed up to the instant the document is of, say it was; each action's
live aggregate equals its replay; and the timeline gives each action event the
commitment's version when it was recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from application.documents import action_document, commitment_document
from application.errors import Forbidden, NotFound
from application.ledger import Ledger
from domain.commitment import Commitment
from domain.errors import DomainError
from domain.joint_action import JointAction
from domain.partner import Partner
from domain.values import (
    Actor,
    AssessmentStage,
    Completion,
    OgpValue,
    OpenedGovernment,
    PartnerRole,
    Response,
    Visibility,
)
from infrastructure.idempotency import SqlIdempotencyStore
from infrastructure.logstore import SqlLogStore
from infrastructure.readmodels import SqlReadModels
from infrastructure.store import database_url, store_env
from tests.conftest import AUDITOR, make_world

SNAPSHOT_EVERY = 3
EXAMPLES = {"memory": 25, "sqlite": 8, "postgres": 6}
AGENCIES = ("dia", "msd", "tpk")
PARTNERS = (*AGENCIES, "hui_e", "iwi", "tinz")


class SnappyLedger(Ledger):
    """The ledger with a snapshot every 3 versions, keeping the live aggregates it commits
    (commitments, partners and joint actions)."""

    name = Ledger.name  # the same tables as the real ledger
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Commitment: SNAPSHOT_EVERY, Partner: SNAPSHOT_EVERY}

    def __init__(self, env: dict[str, str] | None = None, **stores: Callable[[Any], Any]) -> None:
        super().__init__(env, **stores)
        self.live: dict[UUID, Commitment | Partner | JointAction] = {}

    def append(self, tx: Any, aggregates: Any, context: Commitment | None = None) -> list[int]:
        positions: list[int] = super().append(tx, aggregates, context)
        for aggregate in aggregates:
            self.live[aggregate.id] = aggregate
        return positions


def open_snappy_ledger(url: str) -> SnappyLedger:
    """Built as ``interfaces.composition.open_ledger`` builds the real one."""
    return SnappyLedger(
        env=store_env(database_url(url)), read_models=SqlReadModels, log=SqlLogStore, idempotency=SqlIdempotencyStore
    )


@pytest.fixture
def snappy(store_url: str) -> Iterator[SnappyLedger]:
    app = open_snappy_ledger(store_url)
    try:
        yield app
    finally:
        app.close()


def store_kind(url: str) -> str:
    if url.startswith("postgresql"):
        return "postgres"
    return "memory" if url.endswith(":memory:") else "sqlite"


# -- commands ------------------------------------------------------------------

# Who acts or is acted on, chosen when the command runs from the commitment as it then
# is: a role ("lead", "agency": lead or support, "member", "outsider", "named": named in
# the joint action and not yet responded, "recorder": the joint action's, "anyone") and
# an index into those who have it; or someone by name (a partner, or "assessor"). Roles
# that fit make most commands acceptable; "anyone" and "outsider" make the domain (or
# the application) refuse some.
Who = tuple[str, int]


@dataclass
class Run:
    """One commitment under test, and the ids its commands have created."""

    ledger: SnappyLedger
    actors: dict[str, Actor]
    id: UUID
    milestones: list[UUID] = field(default_factory=list)
    actions: list[UUID] = field(default_factory=list)
    accepted: int = 0  # commands accepted that changed the commitment
    accepted_on_actions: int = 0  # and that changed one of its joint actions

    @staticmethod
    def pick(ids: list[UUID], index: int) -> UUID:
        """A known id, or (past the end) one the commitment never had."""
        return ids[index] if index < len(ids) else UUID(int=index + 1)

    def key(self, who: Who, action: UUID | None = None) -> str:
        kind, index = who
        if kind in self.actors:
            return kind
        live = self.ledger.live[self.id]
        assert isinstance(live, Commitment)
        role_of = {key: live.role_of(actor.id) for key, actor in self.actors.items()}
        pools = {
            "lead": [k for k, role in role_of.items() if role is PartnerRole.LEAD],
            "agency": [k for k, role in role_of.items() if role in (PartnerRole.LEAD, PartnerRole.SUPPORT)],
            "member": [k for k, role in role_of.items() if role is not None],
            "outsider": [k for k, role in role_of.items() if role is None],
            "anyone": list(self.actors),
        }
        named = self.ledger.live.get(action) if action is not None else None
        if isinstance(named, JointAction):
            pools["named"] = [
                k
                for k, actor in self.actors.items()
                if actor.id in named.partner_ids and str(actor.id) not in named.responses
            ]
            pools["recorder"] = [k for k, actor in self.actors.items() if actor.id == named.recorded_by]
        pool = pools.get(kind) or pools["lead"]  # a commitment always has a lead
        return pool[index % len(pool)]

    def actor(self, who: Who, action: UUID | None = None) -> Actor:
        return self.actors[self.key(who, action)]


@dataclass(frozen=True)
class OnCommitment:
    """A command that changes the commitment (when accepted)."""

    on_action: ClassVar[bool] = False


@dataclass(frozen=True)
class OnAction:
    """A command that records or changes one of the commitment's joint actions."""

    on_action: ClassVar[bool] = True


@dataclass(frozen=True)
class Amend(OnCommitment):
    who: Who
    changes: dict[str, Any]
    reason: str

    def __call__(self, run: Run) -> None:
        run.ledger.amend_commitment(
            run.id, changes=dict(self.changes), reason=self.reason, actor=run.actor(self.who), request_id="amend"
        )


@dataclass(frozen=True)
class AddPartner(OnCommitment):
    who: Who
    partner: Who
    role: str  # "fitting" (to the partner's kind), or a role's value
    joined_on: date | None = None

    def __call__(self, run: Run) -> None:
        partner = run.actor(self.partner)
        if self.role == "fitting":
            role = PartnerRole.SUPPORT if partner.role.value == "agency" else PartnerRole.COMMUNITY
        else:
            role = PartnerRole(self.role)
        actor = run.actor(self.who)
        run.ledger.add_partner(
            run.id, partner_id=partner.id, role=role, joined_on=self.joined_on, actor=actor, request_id="add-partner"
        )


@dataclass(frozen=True)
class RemovePartner(OnCommitment):
    who: Who
    partner: Who
    reason: str

    def __call__(self, run: Run) -> None:
        partner_id = run.actor(self.partner).id
        actor = run.actor(self.who)
        run.ledger.remove_partner(run.id, partner_id=partner_id, reason=self.reason, actor=actor, request_id="remove")


@dataclass(frozen=True)
class AddMilestone(OnCommitment):
    who: Who
    title: str
    due_on: date

    def __call__(self, run: Run) -> None:
        result = run.ledger.add_milestone(
            run.id, title=self.title, due_on=self.due_on, actor=run.actor(self.who), request_id="milestone"
        )
        assert result.created_id is not None
        run.milestones.append(result.created_id)


@dataclass(frozen=True)
class ChangeMilestone(OnCommitment):
    who: Who
    milestone: int
    title: str | None
    due_on: date | None
    reason: str

    def __call__(self, run: Run) -> None:
        run.ledger.change_milestone(
            run.id,
            run.pick(run.milestones, self.milestone),
            title=self.title,
            due_on=self.due_on,
            reason=self.reason,
            actor=run.actor(self.who),
            request_id="change-milestone",
        )


@dataclass(frozen=True)
class ReachMilestone(OnCommitment):
    who: Who
    milestone: int
    reached_on: date
    evidence_url: str | None
    note: str | None

    def __call__(self, run: Run) -> None:
        run.ledger.reach_milestone(
            run.id,
            run.pick(run.milestones, self.milestone),
            reached_on=self.reached_on,
            evidence_url=self.evidence_url,
            note=self.note,
            actor=run.actor(self.who),
            request_id="reach",
        )


@dataclass(frozen=True)
class RecordJointAction(OnAction):
    who: Who
    partners: tuple[Who, ...]
    summary: str
    occurred_on: date
    evidence_url: str | None

    def __call__(self, run: Run) -> None:
        result = run.ledger.record_joint_action(
            run.id,
            summary=self.summary,
            occurred_on=self.occurred_on,
            partner_ids=[run.actor(p).id for p in self.partners],
            evidence_url=self.evidence_url,
            actor=run.actor(self.who),
            request_id="action",
        )
        assert result.created_id is not None
        run.actions.append(result.created_id)


@dataclass(frozen=True)
class Respond(OnAction):
    who: Who
    action: int
    response: Response
    note: str | None

    def __call__(self, run: Run) -> None:
        action_id = run.pick(run.actions, self.action)
        run.ledger.respond_to_action(
            run.id,
            action_id,
            response=self.response,
            note=self.note,
            actor=run.actor(self.who, action_id),
            request_id="respond",
        )


@dataclass(frozen=True)
class WithdrawAction(OnAction):
    who: Who
    action: int
    reason: str

    def __call__(self, run: Run) -> None:
        action_id = run.pick(run.actions, self.action)
        run.ledger.withdraw_action(
            run.id, action_id, reason=self.reason, actor=run.actor(self.who, action_id), request_id="withdraw-action"
        )


@dataclass(frozen=True)
class ReportProgress(OnCommitment):
    who: Who
    completion: Completion
    note: str
    as_of: date | None = None

    def __call__(self, run: Run) -> None:
        run.ledger.report_progress(
            run.id,
            completion=self.completion,
            note=self.note,
            as_of=self.as_of,
            actor=run.actor(self.who),
            request_id="progress",
        )


@dataclass(frozen=True)
class RecordAssessment(OnCommitment):
    who: Who
    stage: AssessmentStage
    assessed_on: date
    completion: Completion
    did_it_open_government: OpenedGovernment | None
    starred: bool
    note: str | None

    def __call__(self, run: Run) -> None:
        run.ledger.record_assessment(
            run.id,
            stage=self.stage,
            assessed_on=self.assessed_on,
            completion=self.completion,
            did_it_open_government=self.did_it_open_government,
            starred=self.starred,
            report_url="https://www.opengovpartnership.org/documents/new-zealand-report/" if self.starred else None,
            note=self.note,
            actor=run.actor(self.who),
            request_id="assessment",
        )


@dataclass(frozen=True)
class Withdraw(OnCommitment):
    who: Who
    reason: str

    def __call__(self, run: Run) -> None:
        run.ledger.withdraw_commitment(run.id, reason=self.reason, actor=run.actor(self.who), request_id="withdraw")


Command = Callable[[Run], None]


def who(*kinds: str) -> st.SearchStrategy[Who]:
    """Someone of the given kinds (repeat a kind to choose it more often)."""
    return st.tuples(st.sampled_from(kinds), st.integers(0, 5))


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each as often as its weight."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


leads = who("lead", "lead", "lead", "lead", "agency", "anyone")
agencies = who("agency", "agency", "agency", "lead", "member", "anyone")
members = who("member", "member", "member", "anyone")
texts = weighted(
    (4, st.sampled_from(["Kia Tūtahi", "Kia Tu\u0304tahi", "Hui E!", "Ngā Mahinga", "  Te Puni Kōkiri  "])),
    (4, st.text(min_size=1, max_size=30)),  # may be blank after trimming: refused
    (1, st.sampled_from(["NUL \x00 inside", "a lone \ud800 surrogate"])),  # unstorable: refused on every store
)
reasons = weighted((4, texts), (1, st.sampled_from(["", "  "])))
dates = st.dates(date(2010, 1, 1), date(2035, 12, 31))  # reached_on (and the like) after today is refused
maybe_dates = st.one_of(st.none(), dates)
urls = st.one_of(
    st.none(),
    st.sampled_from(["https://www.dia.govt.nz/kia-tutahi", "http://ogp.example/nz?a=1", "ftp://no", "https://"]),
)
notes = st.one_of(st.none(), st.text(max_size=30))
indexes = weighted((4, st.integers(0, 2)), (1, st.integers(3, 6)))  # some past the last one: unknown
ogp_values = st.lists(st.sampled_from(OgpValue), max_size=4)
amendable = {
    "title": texts,
    "description": st.text(max_size=30),
    "starts_on": dates,
    "ends_on": dates,
    "ogp_values": ogp_values,
    "visibility": st.sampled_from(Visibility),
}

commands: st.SearchStrategy[Command] = weighted(
    (4, st.builds(Amend, leads, st.fixed_dictionaries({}, optional=amendable), reasons)),
    (1, st.builds(Amend, leads, st.just({"status": "withdrawn"}), reasons)),  # not amendable: refused
    (
        4,
        st.builds(
            AddPartner,
            leads,
            who("outsider", "outsider", "outsider", "anyone"),
            st.sampled_from(["fitting", "fitting", "lead", "support", "community"]),
            maybe_dates,
        ),
    ),
    (2, st.builds(RemovePartner, who("lead", "member", "anyone"), members, reasons)),
    (3, st.builds(AddMilestone, agencies, texts, dates)),
    (
        2,
        st.builds(
            ChangeMilestone, agencies, indexes, st.one_of(st.none(), texts), st.one_of(st.none(), dates), reasons
        ),
    ),
    (3, st.builds(ReachMilestone, agencies, indexes, dates, urls, notes)),
    (3, st.builds(RecordJointAction, members, st.lists(members, max_size=4).map(tuple), texts, dates, urls)),
    (4, st.builds(Respond, who("named", "named", "named", "anyone"), indexes, st.sampled_from(Response), notes)),
    (1, st.builds(WithdrawAction, who("recorder", "recorder", "recorder", "anyone"), indexes, reasons)),
    (3, st.builds(ReportProgress, leads, st.sampled_from(Completion), st.text(max_size=30), maybe_dates)),
    (
        2,
        st.builds(
            RecordAssessment,
            who("assessor", "assessor", "assessor", "anyone"),
            st.sampled_from(AssessmentStage),
            dates,
            st.sampled_from(Completion),
            st.one_of(st.none(), st.sampled_from(OpenedGovernment)),
            st.booleans(),
            notes,
        ),
    ),
    (1, st.builds(Withdraw, leads, reasons)),  # rare: a withdrawn commitment refuses the rest
)


@dataclass(frozen=True)
class Scenario:
    visibility: Visibility
    ogp_values: list[OgpValue]
    commands: list[Command]


scenarios = st.builds(Scenario, st.sampled_from(Visibility), ogp_values, st.lists(commands, min_size=15, max_size=40))


def start(ledger: SnappyLedger, actors: dict[str, Actor], scenario: Scenario) -> Run:
    created = ledger.create_commitment(
        title="Review progress of the Kia Tūtahi Relationship Accord",
        description="Ngā Mahinga: putting the principles into practice.",
        action_plan="New Zealand National Action Plan 2014–16",
        external_ref="NZ0004",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=scenario.ogp_values,
        visibility=scenario.visibility,
        actor=actors["dia"],
        request_id="create",
    )
    assert created.created_id is not None
    return Run(ledger, actors, created.created_id)


def play(run: Run, scenario: Scenario) -> None:
    for command in scenario.commands:
        try:
            command(run)
        except (DomainError, NotFound, Forbidden):
            continue  # refused: nothing recorded
        if command.on_action:  # type: ignore[attr-defined]
            run.accepted_on_actions += 1
        else:
            run.accepted += 1


# -- the property --------------------------------------------------------------


def parse_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def replay(ledger: Ledger, commitment_id: UUID, version: int) -> Commitment:
    """Events 1..version folded from nothing, without snapshots."""
    aggregate: Any = None
    for event in ledger.events.get(commitment_id, lte=version):
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Commitment)
    return aggregate


def replay_action(ledger: Ledger, action_id: UUID, at: datetime | None = None) -> JointAction | None:
    """The joint action folded from its first event, with only the events recorded at or
    before ``at`` (None: all of them; and None if it did not exist yet)."""
    aggregate: Any = None
    for event in ledger.events.get(action_id):
        if at is None or event.timestamp <= at:
            aggregate = event.mutate(aggregate)
    assert aggregate is None or isinstance(aggregate, JointAction)
    return aggregate


def actions_at(ledger: Ledger, run: Run, at: datetime | None) -> list[dict[str, Any]]:
    """The documents of the commitment's joint actions, replayed to the instant ``at``, in
    the order they were recorded."""
    replayed = [replay_action(ledger, action_id, at) for action_id in run.actions]
    return [action_document(action.state, run.id) for action in replayed if action is not None]


def check_replay(ledger: SnappyLedger, run: Run) -> int:
    """Asserts RL6 at every version of the commitment, and of its joint actions; returns
    the commitment's current version."""
    commitment_id = run.id
    history = ledger.commitment_history(commitment_id, AUDITOR)
    current = len(history)
    assert [entry["version"] for entry in history] == list(range(1, current + 1))
    assert {entry["aggregate_type"] for entry in history} == {"commitment"}
    recorded = {entry["version"]: parse_instant(entry["recorded_at"]) for entry in history}
    assert list(recorded.values()) == sorted(recorded.values()), "recorded times go forward with versions"

    replayed = {v: commitment_document(replay(ledger, commitment_id, v)) for v in range(1, current + 1)}
    for version, document in replayed.items():
        assert document["version"] == version
        from_repository = ledger.repository.get(commitment_id, version=version)
        assert commitment_document(from_repository) == document, f"snapshot + tail differs at version {version}"
        # Its joint actions as they were when that version was recorded (the current
        # version shows them as they are).
        actions = actions_at(ledger, run, None if version == current else recorded[version])
        assert ledger.get_commitment(commitment_id, AUDITOR, version=version) == {**document, "actions": actions}
        # Instants have microsecond resolution: versions recorded at the same instant
        # read as the last of them.
        at = recorded[version]
        last_at = max(v for v, t in recorded.items() if t <= at)
        as_of = {**replayed[last_at], "actions": actions_at(ledger, run, at)}
        assert ledger.get_commitment(commitment_id, AUDITOR, as_of=at) == as_of
    with pytest.raises(NotFound):
        ledger.get_commitment(commitment_id, AUDITOR, as_of=recorded[1] - timedelta(microseconds=1))

    # Snapshots: at every multiple of the interval, each equal to the replay there.
    assert ledger.snapshots is not None
    snapshots = list(ledger.snapshots.get(commitment_id))
    assert [s.originator_version for s in snapshots] == list(range(SNAPSHOT_EVERY, current + 1, SNAPSHOT_EVERY))
    for snapshot in snapshots:
        assert commitment_document(snapshot.mutate(None)) == replayed[snapshot.originator_version]

    # The live aggregate (as the last accepted command left it) equals the final replay.
    live = ledger.live[commitment_id]
    assert isinstance(live, Commitment)
    assert live.version == current
    assert commitment_document(live) == replayed[current]
    assert ledger.get_commitment(commitment_id, AUDITOR) == {
        **replayed[current],
        "actions": actions_at(ledger, run, None),
    }

    # Each joint action: its live aggregate, its replay, the repository's and the query's
    # document agree, its version counts its events, and the commitment holds none of them.
    events = 0
    for action_id in run.actions:
        action = replay_action(ledger, action_id)
        live_action = ledger.live[action_id]
        assert action is not None and isinstance(live_action, JointAction)
        assert (live_action.version, live_action.commitment_id) == (action.version, commitment_id)
        assert live_action.state == action.state == ledger.load_action(action_id).state
        document = ledger.get_action(commitment_id, action_id, AUDITOR)
        assert document == action_document(action.state, commitment_id)
        assert document["version"] == action.version
        events += action.version
    assert events == run.accepted_on_actions
    assert live.actions == {}, "joint actions recorded today are aggregates of their own"

    # The timeline: every event of the commitment and of its actions, each of an action at
    # the commitment's version when it was recorded.
    versions = {entry["position"]: entry["version"] for entry in history}
    entries = ledger.timeline(commitment_id, AUDITOR, limit=10_000).items
    assert len(entries) == current + run.accepted_on_actions
    for entry in entries:
        if entry.aggregate_id == commitment_id:
            assert entry.version == versions[entry.position]
        else:
            assert entry.aggregate_id in run.actions
            assert entry.version == max(v for p, v in versions.items() if p < entry.position)
    return current


def test_replay_equals_live_equals_snapshot_tail_equals_as_of(snappy: SnappyLedger, store_url: str) -> None:
    actors = vars(make_world(snappy))

    @settings(
        max_examples=EXAMPLES[store_kind(store_url)],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(scenario=scenarios)
    def each(scenario: Scenario) -> None:
        note(repr(scenario))
        run = start(snappy, actors, scenario)
        play(run, scenario)
        assert check_replay(snappy, run) == 2 + run.accepted

    each()


# -- a deterministic companion ---------------------------------------------------


def test_a_fixed_history_is_snapshotted_and_replays_alike(snappy: SnappyLedger) -> None:
    actors = vars(make_world(snappy))
    dia, msd, hui_e, iwi, irm = ("dia", 0), ("msd", 0), ("hui_e", 0), ("iwi", 0), ("assessor", 0)
    scenario = Scenario(
        Visibility.PARTNERS,
        [OgpValue.CIVIC_PARTICIPATION],
        [
            AddPartner(dia, msd, "support"),
            AddPartner(dia, hui_e, "community"),
            AddPartner(dia, iwi, "fitting", date(2015, 1, 15)),
            AddMilestone(msd, "Hui with partners", date(2015, 3, 31)),
            ChangeMilestone(msd, 0, None, date(2015, 4, 30), "Rescheduled with the iwi"),
            ReachMilestone(msd, 0, date(2015, 3, 20), "https://www.dia.govt.nz/hui", "Held at Te Papa"),
            RecordJointAction(hui_e, (msd, iwi), "Co-designed the review", date(2015, 2, 2), None),
            Respond(msd, 0, Response.CONFIRMED, None),
            Respond(iwi, 0, Response.DISPUTED, "We were not asked"),
            RecordJointAction(dia, (hui_e,), "Planning hui", date(2015, 2, 3), None),
            WithdrawAction(dia, 1, "Recorded twice"),
            Respond(hui_e, 1, Response.CONFIRMED, "refused: withdrawn"),
            RemovePartner(iwi, iwi, "Leaving the commitment"),
            Amend(dia, {"ends_on": date(2016, 12, 31), "visibility": Visibility.PUBLIC}, "Extended"),
            ReportProgress(dia, Completion.LIMITED, "Mid-term", date(2015, 6, 30)),
            RecordAssessment(irm, AssessmentStage.MID_TERM, date(2015, 7, 1), Completion.LIMITED, None, False, "IRM"),
            RecordAssessment(dia, AssessmentStage.OTHER, date(2015, 7, 1), Completion.COMPLETE, None, False, None),
            Withdraw(dia, "Superseded by the second plan"),
            ReportProgress(dia, Completion.COMPLETE, "refused: withdrawn"),
            RecordJointAction(dia, (hui_e,), "refused: withdrawn", date(2016, 1, 1), None),
        ],
    )
    run = start(snappy, actors, scenario)
    play(run, scenario)
    assert (run.accepted, run.accepted_on_actions) == (11, 5)
    assert check_replay(snappy, run) == 13
    assert snappy.snapshots is not None
    versions = [s.originator_version for s in snappy.snapshots.get(run.id)]
    assert versions == [3, 6, 9, 12]
    latest = list(snappy.snapshots.get(run.id, desc=True, limit=1))
    assert latest[0].originator_version == 12
    document = snappy.get_commitment(run.id)
    assert document["status"] == "withdrawn"
    assert [r["response"] for r in document["actions"][0]["responses"]] == ["confirmed", "disputed"]
    assert [(a["status"], a["version"]) for a in document["actions"]] == [("recorded", 3), ("withdrawn", 2)]
    assert document["milestones"][0]["due_on"] == "2015-04-30"
    assert (document["completion"]["as_of"], document["assessed_completion"]) == ("2015-06-30", "limited")
    assert [p["joined_on"] for p in document["partners"]] == ["2014-07-01", None, None]
