"""RL6 (targets.md): for random command sequences, at every version of a commitment,
full replay = snapshot + tail = the versioned query = the ``as_of`` query, and the live
aggregate equals the final replay. Snapshots are taken every 3 versions here, so that
snapshot + tail really differs from a full replay within a short sequence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from application.documents import commitment_document
from application.errors import NotFound
from application.ledger import Ledger
from domain.commitment import Commitment
from domain.errors import DomainError
from domain.partner import Partner
from domain.values import Actor, Completion, OgpValue, PartnerRole, Response, Visibility
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
    """The ledger with a snapshot every 3 versions, keeping the live aggregates it commits."""

    name = Ledger.name  # the same tables as the real ledger
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Commitment: SNAPSHOT_EVERY, Partner: SNAPSHOT_EVERY}

    def __init__(self, env: dict[str, str] | None = None, **stores: Callable[[Any], Any]) -> None:
        super().__init__(env, **stores)
        self.live: dict[UUID, Commitment | Partner] = {}

    def append(self, tx: Any, aggregates: Any) -> list[int]:
        positions: list[int] = super().append(tx, aggregates)
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
# the joint action and not yet responded, "anyone") and an index into those who have it;
# or a partner by name. Roles that fit make most commands acceptable; "anyone" and
# "outsider" make the domain refuse some.
Who = tuple[str, int]


@dataclass
class Run:
    """One commitment under test, and the ids its commands have created."""

    ledger: SnappyLedger
    actors: dict[str, Actor]
    id: UUID
    milestones: list[UUID] = field(default_factory=list)
    actions: list[UUID] = field(default_factory=list)
    accepted: int = 0

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
        if kind == "named":
            named = live.actions.get(str(action)) if action is not None else None
            pools["named"] = [
                k
                for k, actor in self.actors.items()
                if named and actor.id in named.partner_ids and str(actor.id) not in named.responses
            ]
        pool = pools[kind] or pools["lead"]  # a commitment always has a lead
        return pool[index % len(pool)]

    def actor(self, who: Who, action: UUID | None = None) -> Actor:
        return self.actors[self.key(who, action)]


@dataclass(frozen=True)
class Amend:
    who: Who
    changes: dict[str, Any]
    reason: str

    def __call__(self, run: Run) -> None:
        run.ledger.amend_commitment(
            run.id, changes=dict(self.changes), reason=self.reason, actor=run.actor(self.who), request_id="amend"
        )


@dataclass(frozen=True)
class AddPartner:
    who: Who
    partner: Who
    role: str  # "fitting" (to the partner's kind), or a role's value

    def __call__(self, run: Run) -> None:
        partner = run.actor(self.partner)
        if self.role == "fitting":
            role = PartnerRole.SUPPORT if partner.role.value == "agency" else PartnerRole.COMMUNITY
        else:
            role = PartnerRole(self.role)
        actor = run.actor(self.who)
        run.ledger.add_partner(run.id, partner_id=partner.id, role=role, actor=actor, request_id="add-partner")


@dataclass(frozen=True)
class RemovePartner:
    who: Who
    partner: Who
    reason: str

    def __call__(self, run: Run) -> None:
        partner_id = run.actor(self.partner).id
        actor = run.actor(self.who)
        run.ledger.remove_partner(run.id, partner_id=partner_id, reason=self.reason, actor=actor, request_id="remove")


@dataclass(frozen=True)
class AddMilestone:
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
class ReachMilestone:
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
class RecordJointAction:
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
class Respond:
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
class ReportProgress:
    who: Who
    completion: Completion
    note: str

    def __call__(self, run: Run) -> None:
        run.ledger.report_progress(
            run.id, completion=self.completion, note=self.note, actor=run.actor(self.who), request_id="progress"
        )


@dataclass(frozen=True)
class Withdraw:
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
dates = st.dates(date(2010, 1, 1), date(2035, 12, 31))  # reached_on after today is refused
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
        ),
    ),
    (2, st.builds(RemovePartner, who("lead", "member", "anyone"), members, reasons)),
    (3, st.builds(AddMilestone, agencies, texts, dates)),
    (3, st.builds(ReachMilestone, agencies, indexes, dates, urls, notes)),
    (3, st.builds(RecordJointAction, agencies, st.lists(members, max_size=4).map(tuple), texts, dates, urls)),
    (4, st.builds(Respond, who("named", "named", "named", "anyone"), indexes, st.sampled_from(Response), notes)),
    (3, st.builds(ReportProgress, leads, st.sampled_from(Completion), st.text(max_size=30))),
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
        except (DomainError, NotFound):
            continue  # refused: nothing recorded
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


def check_replay(ledger: SnappyLedger, commitment_id: UUID) -> int:
    """Asserts RL6 at every version of the commitment; returns its current version."""
    history = ledger.commitment_history(commitment_id, AUDITOR)
    current = len(history)
    assert [entry["version"] for entry in history] == list(range(1, current + 1))
    recorded = {entry["version"]: parse_instant(entry["recorded_at"]) for entry in history}
    assert list(recorded.values()) == sorted(recorded.values()), "recorded times go forward with versions"

    replayed = {v: commitment_document(replay(ledger, commitment_id, v)) for v in range(1, current + 1)}
    for version, document in replayed.items():
        assert document["version"] == version
        from_repository = ledger.repository.get(commitment_id, version=version)
        assert commitment_document(from_repository) == document, f"snapshot + tail differs at version {version}"
        assert ledger.get_commitment(commitment_id, AUDITOR, version=version) == document
        # Instants have microsecond resolution: versions recorded at the same instant
        # read as the last of them.
        at = recorded[version]
        last_at = max(v for v, t in recorded.items() if t <= at)
        assert ledger.get_commitment(commitment_id, AUDITOR, as_of=at) == replayed[last_at]
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
    assert ledger.get_commitment(commitment_id, AUDITOR) == replayed[current]
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
        assert check_replay(snappy, run.id) == 2 + run.accepted

    each()


# -- a deterministic companion ---------------------------------------------------


def test_a_fixed_history_is_snapshotted_and_replays_alike(snappy: SnappyLedger) -> None:
    actors = vars(make_world(snappy))
    dia, msd, hui_e, iwi = ("dia", 0), ("msd", 0), ("hui_e", 0), ("iwi", 0)
    scenario = Scenario(
        Visibility.PARTNERS,
        [OgpValue.CIVIC_PARTICIPATION],
        [
            AddPartner(dia, msd, "support"),
            AddPartner(dia, hui_e, "community"),
            AddPartner(dia, iwi, "fitting"),
            AddMilestone(msd, "Hui with partners", date(2015, 3, 31)),
            ReachMilestone(msd, 0, date(2015, 3, 20), "https://www.dia.govt.nz/hui", "Held at Te Papa"),
            RecordJointAction(dia, (hui_e, iwi), "Co-designed the review", date(2015, 2, 2), None),
            Respond(hui_e, 0, Response.CONFIRMED, None),
            Respond(iwi, 0, Response.DISPUTED, "We were not asked"),
            RemovePartner(iwi, iwi, "Leaving the commitment"),
            Amend(dia, {"ends_on": date(2016, 12, 31), "visibility": Visibility.PUBLIC}, "Extended"),
            ReportProgress(dia, Completion.LIMITED, "Mid-term"),
            Withdraw(dia, "Superseded by the second plan"),
            ReportProgress(dia, Completion.COMPLETE, "refused: withdrawn"),
        ],
    )
    run = start(snappy, actors, scenario)
    play(run, scenario)
    assert run.accepted == 12
    assert check_replay(snappy, run.id) == 14
    assert snappy.snapshots is not None
    versions = [s.originator_version for s in snappy.snapshots.get(run.id)]
    assert versions == [3, 6, 9, 12]
    latest = list(snappy.snapshots.get(run.id, desc=True, limit=1))
    assert latest[0].originator_version == 12
    document = snappy.get_commitment(run.id)
    assert document["status"] == "withdrawn"
    assert [r["response"] for r in document["actions"][0]["responses"]] == ["confirmed", "disputed"]
