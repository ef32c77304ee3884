"""Every type the domain stores comes back from the JSON transcoder as the same value
of the same type (not a string, not a list instead of an enum), in events and in
snapshots alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from application.documents import commitment_document
from application.ledger import Ledger
from application.transcodings import ENUMS, VALUE_OBJECTS, register_domain_transcodings
from domain.commitment import Commitment
from domain.values import (
    ActionResponse,
    ActionState,
    ActionStatus,
    Actor,
    ActorRole,
    Assessment,
    AssessmentStage,
    Completion,
    Membership,
    Milestone,
    OgpValue,
    OpenedGovernment,
    PartnerKind,
    PartnerRole,
    ProgressReport,
    Response,
    Visibility,
)
from interfaces.composition import open_ledger
from tests.conftest import make_world

NZDT = timezone(timedelta(hours=13))
RECORDED = datetime(2016, 6, 30, 23, 59, 59, 999_999, tzinfo=UTC)


def assert_same(got: Any, want: Any, path: str = "$") -> None:
    """Equal values of identical types, all the way down (dataclass fields, list
    items, dict keys and values)."""
    assert type(got) is type(want), f"{path}: got {type(got).__name__}, want {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{path}: keys differ"
        for key, value in want.items():
            assert_same(next(k for k in got if k == key), key, f"{path}.<key {key!r}>")
            assert_same(got[key], value, f"{path}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{path}: length differs"
        for index, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_same(a, b, f"{path}[{index}]")
    elif dataclasses.is_dataclass(want) and not isinstance(want, type):
        for f in dataclasses.fields(want):
            assert_same(getattr(got, f.name), getattr(want, f.name), f"{path}.{f.name}")
    elif isinstance(want, datetime):
        assert got == want and got.utcoffset() == want.utcoffset(), path
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def standalone_transcoder() -> JSONTranscoder:
    """The transcoder as the application builds it: library defaults plus the domain's."""
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())
    register_domain_transcodings(transcoder)
    return transcoder


@pytest.fixture(params=["standalone", "application"])
def transcoder(request: pytest.FixtureRequest) -> Iterator[JSONTranscoder]:
    """A standalone transcoder, and the running application's own."""
    if request.param == "standalone":
        yield standalone_transcoder()
        return
    app = open_ledger("sqlite:///:memory:")
    try:
        transcoder = app.mapper.transcoder
        assert isinstance(transcoder, JSONTranscoder)
        yield transcoder
    finally:
        app.close()


def round_trip(transcoder: JSONTranscoder, value: Any) -> Any:
    encoded = transcoder.encode({"value": value})
    assert isinstance(encoded, bytes)
    return transcoder.decode(encoded)["value"]


def sample_actor() -> Actor:
    return Actor(ActorRole.COMMUNITY, uuid4(), "Hui E! Community Aotearoa")


def sample_action() -> ActionState:
    first, second = uuid4(), uuid4()
    return ActionState(
        id=uuid4(),
        summary="Hui at Te Papa on the accord's principles",
        occurred_on=date(2015, 3, 14),
        recorded_by=uuid4(),
        partner_ids=[first, second],
        evidence_url="https://www.dia.govt.nz/kia-tutahi",
        responses={
            str(first): ActionResponse(first, Response.CONFIRMED, "Kia ora, confirmed", RECORDED),
            str(second): ActionResponse(second, Response.DISPUTED, None, RECORDED.astimezone(NZDT)),
        },
        status=ActionStatus.WITHDRAWN,
        withdrawal_reason="Recorded twice",
    )


VALUES: dict[str, Any] = {
    "date": date(2014, 7, 1),
    "leap day": date(2016, 2, 29),
    "aware datetime (UTC)": RECORDED,
    "aware datetime (NZDT)": datetime(2015, 1, 1, 0, 0, 0, 1, tzinfo=NZDT),
    "uuid": UUID("00000000-0000-4000-8000-00000000a0a0"),
    "decimal": Decimal("0.10"),
    "actor": sample_actor(),
    "membership": Membership(uuid4(), "Te Puni Kōkiri", PartnerKind.AGENCY, PartnerRole.SUPPORT, RECORDED),
    "membership (joined on a day)": Membership(
        uuid4(), "Te Puni Kōkiri", PartnerKind.AGENCY, PartnerRole.SUPPORT, RECORDED, date(2014, 7, 1)
    ),
    "milestone (open)": Milestone(uuid4(), "Publish the review", date(2015, 6, 30)),
    "milestone (reached)": Milestone(
        uuid4(), "Publish the review", date(2015, 6, 30), date(2015, 7, 2), "https://ogp.example/nz", "Two days late"
    ),
    "action response": ActionResponse(uuid4(), Response.CONFIRMED, None, RECORDED),
    "joint action with responses": sample_action(),
    "progress report": ProgressReport(Completion.SUBSTANTIAL, "End-of-term review: substantial", RECORDED),
    "progress report as of a day": ProgressReport(Completion.LIMITED, "Self-report", RECORDED, date(2015, 9, 22)),
    "assessment": Assessment(
        uuid4(),
        AssessmentStage.END_OF_TERM,
        date(2017, 2, 28),
        Completion.SUBSTANTIAL,
        OpenedGovernment.MARGINAL,
        True,
        "https://www.opengovpartnership.org/documents/new-zealand-end-of-term-report-2014-2016/",
        None,
        uuid4(),
        "Independent Reporting Mechanism",
        RECORDED,
    ),
    "list of enums": [OgpValue.CIVIC_PARTICIPATION, OgpValue.ACCESS_TO_INFORMATION],
    "nested": {
        "partners": {
            str(uuid4()): Membership(uuid4(), "Ngāti Whātua", PartnerKind.IWI_HAPU, PartnerRole.COMMUNITY, RECORDED)
        },
        "milestones": [[date(2015, 1, 1), None], {"due": date(2016, 6, 30), "visibility": Visibility.PARTNERS}],
        "changes": {"ogp_values": [OgpValue.PUBLIC_ACCOUNTABILITY], "ends_on": date(2016, 6, 30)},
        "progress": [ProgressReport(Completion.LIMITED, "mid-term", RECORDED)],
        "empty": {"list": [], "dict": {}, "none": None},
    },
}


@pytest.mark.parametrize("name", list(VALUES))
def test_value_round_trips_with_its_type(transcoder: JSONTranscoder, name: str) -> None:
    value = VALUES[name]
    assert_same(round_trip(transcoder, value), value)


def enum_members() -> Iterator[Enum]:
    for enum_type in ENUMS:
        yield from enum_type


@pytest.mark.parametrize("member", list(enum_members()), ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_every_enum_member_round_trips_as_its_own_enum(transcoder: JSONTranscoder, member: Enum) -> None:
    # Some values are shared between enums ("agency", "community"): the type must survive.
    assert_same(round_trip(transcoder, member), member)


def test_every_stored_enum_and_value_object_has_a_transcoding() -> None:
    transcoder = standalone_transcoder()
    for cls in (*ENUMS, *VALUE_OBJECTS, date, datetime, UUID):
        assert cls in transcoder.types, f"{cls.__name__} has no transcoding"


def test_date_and_datetime_keep_their_types(transcoder: JSONTranscoder) -> None:
    # ``datetime`` is a subclass of ``date``: neither may come back as the other.
    got = round_trip(transcoder, [date(2015, 5, 5), datetime(2015, 5, 5, tzinfo=UTC)])
    assert type(got[0]) is date
    assert type(got[1]) is datetime


def test_each_value_object_type_is_covered_by_the_samples() -> None:
    def types_in(value: Any) -> set[type[Any]]:
        found: set[type[Any]] = {type(value)}
        if isinstance(value, dict):
            for item in value.values():
                found |= types_in(item)
        elif isinstance(value, list):
            for item in value:
                found |= types_in(item)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                found |= types_in(getattr(value, f.name))
        return found

    covered = set().union(*(types_in(value) for value in VALUES.values()))
    assert set(VALUE_OBJECTS) <= covered


def rich_commitment(ledger: Ledger) -> UUID:
    """A commitment with partners joining and leaving, milestones, responded joint
    actions, amendments and progress reports."""
    w = make_world(ledger)
    created = ledger.create_commitment(
        title="Review progress of the Kia Tūtahi Relationship Accord",
        description="Ngā Mahinga: putting the principles into practice.",
        action_plan="New Zealand National Action Plan 2014–16",
        external_ref="NZ0004",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[OgpValue.CIVIC_PARTICIPATION, OgpValue.ACCESS_TO_INFORMATION],
        visibility=Visibility.PARTNERS,
        actor=w.dia,
        request_id="create",
    )
    cid = created.created_id
    assert cid is not None
    ledger.add_partner(cid, partner_id=w.msd.id, role=PartnerRole.SUPPORT, actor=w.dia, request_id="r1")
    ledger.add_partner(cid, partner_id=w.tpk.id, role=PartnerRole.LEAD, actor=w.dia, request_id="r2")
    ledger.add_partner(cid, partner_id=w.hui_e.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id="r3")
    ledger.add_partner(cid, partner_id=w.iwi.id, role=PartnerRole.COMMUNITY, actor=w.dia, request_id="r4")
    ledger.remove_partner(cid, partner_id=w.iwi.id, reason="Asked to leave", actor=w.iwi, request_id="r5")
    first = ledger.add_milestone(cid, title="Hui with partners", due_on=date(2015, 3, 31), actor=w.msd, request_id="r6")
    ledger.add_milestone(cid, title="Publish the review", due_on=date(2016, 6, 30), actor=w.dia, request_id="r7")
    assert first.created_id is not None
    ledger.reach_milestone(
        cid,
        first.created_id,
        reached_on=date(2015, 3, 20),
        evidence_url="https://www.dia.govt.nz/hui",
        note="Held at Te Papa",
        actor=w.msd,
        request_id="r8",
    )
    action = ledger.record_joint_action(
        cid,
        summary="Co-designed the review's questions",
        occurred_on=date(2015, 2, 2),
        partner_ids=[w.hui_e.id, w.msd.id],
        actor=w.dia,
        request_id="r9",
    )
    assert action.created_id is not None
    ledger.respond_to_action(cid, action.created_id, response=Response.CONFIRMED, actor=w.hui_e, request_id="r10")
    ledger.respond_to_action(
        cid, action.created_id, response=Response.DISPUTED, note="We were not there", actor=w.msd, request_id="r11"
    )
    ledger.amend_commitment(
        cid,
        changes={
            "ends_on": date(2016, 12, 31),
            "ogp_values": [OgpValue.PUBLIC_ACCOUNTABILITY],
            "visibility": Visibility.PUBLIC,
        },
        reason="Extended after the mid-term review",
        actor=w.tpk,
        request_id="r12",
    )
    ledger.report_progress(
        cid, completion=Completion.LIMITED, note="Mid-term", as_of=date(2015, 9, 22), actor=w.dia, request_id="r13"
    )
    ledger.report_progress(cid, completion=Completion.SUBSTANTIAL, note="End of term", actor=w.tpk, request_id="r14")
    ledger.record_assessment(
        cid,
        stage=AssessmentStage.MID_TERM,
        assessed_on=date(2015, 12, 1),
        completion=Completion.LIMITED,
        did_it_open_government=OpenedGovernment.MARGINAL,
        report_url="https://www.opengovpartnership.org/",
        actor=w.assessor,
        request_id="r15",
    )
    return cid


def replay(ledger: Ledger, commitment_id: UUID) -> Commitment:
    aggregate: Any = None
    for stored in ledger.events.get(commitment_id):
        aggregate = stored.mutate(aggregate)
    assert isinstance(aggregate, Commitment)
    return aggregate


def state_of(aggregate: Commitment) -> dict[str, Any]:
    """The aggregate's attributes by name (their order in ``__dict__`` is not state)."""
    return dict(sorted(vars(aggregate).items()))


def test_snapshot_of_a_rich_history_loads_as_the_replayed_state(memory_ledger: Ledger) -> None:
    ledger = memory_ledger
    cid = rich_commitment(ledger)
    replayed = replay(ledger, cid)
    assert replayed.version < 100, "no automatic snapshot may exist yet"
    assert list(ledger.snapshots.get(cid)) == []

    ledger.take_snapshot(cid)
    snapshots = list(ledger.snapshots.get(cid))
    assert len(snapshots) == 1
    snapshot = snapshots[0]
    assert isinstance(snapshot, Snapshot)
    assert snapshot.originator_version == replayed.version

    from_snapshot = snapshot.mutate(None)
    assert isinstance(from_snapshot, Commitment)
    assert commitment_document(from_snapshot) == commitment_document(replayed)
    # Not only the document: every attribute, with its type.
    assert_same(state_of(from_snapshot), state_of(replayed))

    loaded = ledger.repository.get(cid)
    assert commitment_document(loaded) == commitment_document(replayed)
    assert_same(state_of(loaded), state_of(replayed))
    document = ledger.document(loaded)
    assert document["visibility"] == "public"
    assert [r["response"] for r in document["actions"][0]["responses"]] == ["confirmed", "disputed"]
    assert document["completion"]["completion"] == "substantial"
    assert [r["as_of"] for r in document["progress"]] == ["2015-09-22", document["progress"][1]["as_of"]]
    assert document["assessed_completion"] == "limited"
    assert document["assessments"][0]["did_it_open_government"] == "marginal"
