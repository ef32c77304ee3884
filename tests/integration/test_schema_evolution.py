"""RL10: stored events and snapshots written by an older version of the code (the
committed fixture ``tests/fixtures/events_v1.json``) still load after the classes
changed, through the upcasters of ``CommitmentCreated`` and ``Commitment``.

The fixture's events are in the event store's format of that version; they reach
today's log as an upgrade writes them (``infrastructure.upgrade.document_v010``, the
frozen rules of the release before documents were stored). A document written at an
older class version by today's log format is upcast by the class's own upcaster."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from application.documents import commitment_document
from application.ledger import Ledger
from application.logformat import canonical, document_bytes, read_event
from domain.commitment import Commitment
from domain.values import Actor, ActorRole, OgpValue, PartnerKind, PartnerRole, Status, Visibility
from infrastructure.upgrade import document_v010

FIXTURE = Path(__file__).parent.parent / "fixtures" / "events_v1.json"
DIA = UUID("5b1f6c1e-2f0a-4d3b-9c59-0000000000d1")
HUI_E = UUID("5b1f6c1e-2f0a-4d3b-9c59-0000000000e1")
CREATED = "domain.commitment:Commitment.CommitmentCreated"
SNAPSHOT = "eventsourcing.domain:Snapshot"


def load_fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def stored(originator_id: UUID, rows: list[dict[str, Any]]) -> list[StoredEvent]:
    return [
        StoredEvent(
            originator_id=originator_id,
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=row["state"].encode("utf-8"),
        )
        for row in rows
    ]


@pytest.fixture
def fixture() -> dict[str, Any]:
    return load_fixture()


@pytest.fixture
def commitment_id(fixture: dict[str, Any]) -> UUID:
    return UUID(fixture["originator_id"])


def insert_events(ledger: Ledger, commitment_id: UUID, rows: list[dict[str, Any]]) -> None:
    """The rows as an upgrade moves them into the log: each as its document, at the next position."""
    first = ledger.log_size()
    documents = [
        StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=event.topic,
            state=document_v010(first + n, commitment_id, event.originator_version, event.topic, event.state),
        )
        for n, event in enumerate(stored(commitment_id, rows))
    ]
    ledger.recorder.insert_events(documents)


def insert_snapshots(ledger: Ledger, commitment_id: UUID, rows: list[dict[str, Any]]) -> None:
    assert ledger.snapshots is not None
    ledger.snapshots.recorder.insert_events(stored(commitment_id, rows))


def replay(ledger: Ledger, commitment_id: UUID, version: int | None = None) -> Commitment:
    """The commitment folded from its first stored event, without snapshots."""
    aggregate: Any = None
    for event in ledger.events.get(commitment_id, lte=version):
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Commitment)
    return aggregate


def assert_expected_state(commitment: Commitment, version: int) -> None:
    """What the version 1 history says, with ``visibility`` upcast to public."""
    assert commitment.visibility is Visibility.PUBLIC
    assert commitment.version == version
    assert commitment.title == "Review progress of the Kia Tūtahi Relationship Accord"
    assert commitment.external_ref == "NZ0004"
    assert commitment.action_plan == "New Zealand National Action Plan 2014–16"
    assert commitment.starts_on == date(2014, 7, 1)
    assert commitment.ends_on == date(2016, 6, 30)
    assert commitment.ogp_values == [OgpValue.CIVIC_PARTICIPATION]
    assert commitment.status is Status.ACTIVE
    assert (
        [(m.partner_id, m.kind, m.role, m.joined_on) for m in commitment.partners.values()]
        == [
            (DIA, PartnerKind.AGENCY, PartnerRole.LEAD, None),  # PartnerJoined version 1: no joined_on
            (HUI_E, PartnerKind.COMMUNITY_ORGANISATION, PartnerRole.COMMUNITY, None),
        ][: version - 1]
    )
    assert commitment.assessments == []  # state version 3: none before there were any
    milestones = list(commitment.milestones.values())
    if version >= 4:
        assert [(m.title, m.due_on, m.reached_on) for m in milestones] == [
            ("Hui with community partners (illustrative)", date(2015, 3, 31), None)
        ]
    else:
        assert milestones == []
    assert commitment_document(commitment)["visibility"] == "public"


def test_the_fixture_is_version_1(fixture: dict[str, Any]) -> None:
    """Guards the fixture itself: the older code's shape, not today's."""
    assert fixture["comment"]
    created = fixture["events"][0]
    assert created["topic"] == CREATED
    assert created["originator_version"] == 1
    state = json.loads(created["state"])
    assert "visibility" not in state
    assert "class_version" not in state
    assert [e["topic"].rsplit(".", 1)[-1] for e in fixture["events"][1:]] == [
        "PartnerJoined",
        "PartnerJoined",
        "MilestoneAdded",
    ]
    [snapshot] = fixture["snapshots"]
    assert snapshot["topic"] == SNAPSHOT
    aggregate_state = json.loads(snapshot["state"])["state"]
    assert "visibility" not in aggregate_state
    assert "class_version" not in aggregate_state


def created_event(visibility: Visibility) -> Commitment.CommitmentCreated:
    return Commitment.CommitmentCreated(
        originator_id=UUID(int=1),
        originator_version=1,
        timestamp=Commitment.CommitmentCreated.create_timestamp(),
        originator_topic="domain.commitment:Commitment",
        title="t",
        description="",
        action_plan="p",
        external_ref="x",
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[],
        visibility=visibility,
        actor=Actor(ActorRole.AGENCY, DIA, "Department of Internal Affairs"),
        request_id="r",
    )


def test_the_current_code_writes_version_2() -> None:
    """The fixture would prove nothing if today's code still wrote version 1: today's
    document of a creation carries its visibility (and, at the version documents of
    this type were first stored at, no class version). The aggregate's state has moved
    on since (version 3 added assessments), so a version 1 snapshot needs both upcasters."""
    assert Commitment.CommitmentCreated.class_version == 2
    assert Commitment.class_version == 3
    assert hasattr(Commitment, "upcast_v1_v2") and hasattr(Commitment, "upcast_v2_v3")
    document = json.loads(document_bytes(created_event(Visibility.PARTNERS), 0))
    assert document["data"]["visibility"] == "partners"
    assert "class_version" not in document
    assert read_event(document_bytes(created_event(Visibility.PARTNERS), 0)).visibility is Visibility.PARTNERS


def test_a_document_written_at_version_1_is_upcast_by_the_class() -> None:
    """A creation document that says it was written at class version 1 (no visibility)
    reads as public, through ``CommitmentCreated.upcast_v1_v2``, and the stored bytes
    stay as written."""
    document = json.loads(document_bytes(created_event(Visibility.PUBLIC), 0))
    del document["data"]["visibility"]
    document["class_version"] = 1
    old = canonical(document)

    event = read_event(old)

    assert event.visibility is Visibility.PUBLIC
    assert json.loads(old)["class_version"] == 1 and "visibility" not in json.loads(old)["data"]


def test_version_1_events_load_as_public(ledger: Ledger, fixture: dict[str, Any], commitment_id: UUID) -> None:
    insert_events(ledger, commitment_id, fixture["events"])
    assert list(ledger.snapshots.get(commitment_id)) == []  # type: ignore[union-attr]

    loaded = ledger.repository.get(commitment_id)
    assert isinstance(loaded, Commitment)
    assert_expected_state(loaded, 4)
    for version in (1, 2, 3, 4):
        past = ledger.repository.get(commitment_id, version=version)
        assert_expected_state(past, version)

    created = next(ledger.events.get(commitment_id, lte=1))
    assert isinstance(created, Commitment.CommitmentCreated)
    assert created.visibility is Visibility.PUBLIC

    document = ledger.get_commitment(commitment_id)
    assert document["visibility"] == "public"
    assert document["version"] == 4
    assert [p["name"] for p in document["partners"]] == ["Department of Internal Affairs", "Hui E! Community Aotearoa"]


def test_a_version_1_snapshot_loads_as_public(ledger: Ledger, fixture: dict[str, Any], commitment_id: UUID) -> None:
    assert ledger.snapshots is not None
    insert_snapshots(ledger, commitment_id, fixture["snapshots"])
    [snapshot] = list(ledger.snapshots.get(commitment_id))
    restored = snapshot.mutate(None)
    assert isinstance(restored, Commitment)
    assert "class_version" not in vars(restored)
    assert_expected_state(restored, 3)

    # Only the snapshot and the events after it: the aggregate can only come from the snapshot.
    insert_events(ledger, commitment_id, [e for e in fixture["events"] if e["originator_version"] > 3])
    loaded = ledger.repository.get(commitment_id)
    assert isinstance(loaded, Commitment)
    assert_expected_state(loaded, 4)
    assert ledger.get_commitment(commitment_id)["visibility"] == "public"


def test_snapshot_and_events_agree(ledger: Ledger, fixture: dict[str, Any], commitment_id: UUID) -> None:
    """A version 1 snapshot plus its tail gives the state a full replay of version 1 events gives."""
    insert_events(ledger, commitment_id, fixture["events"])
    replayed = replay(ledger, commitment_id)
    insert_snapshots(ledger, commitment_id, fixture["snapshots"])
    loaded = ledger.repository.get(commitment_id)
    assert commitment_document(loaded) == commitment_document(replayed)
    for version in (3, 4):
        from_snapshot = ledger.repository.get(commitment_id, version=version)
        assert commitment_document(from_snapshot) == commitment_document(replay(ledger, commitment_id, version))


def test_upcast_commitment_accepts_new_commands(ledger: Ledger, fixture: dict[str, Any], commitment_id: UUID) -> None:
    """An upcast commitment takes new commands; its past versions stay public."""
    insert_events(ledger, commitment_id, fixture["events"])
    lead = Actor(ActorRole.AGENCY, DIA, "Department of Internal Affairs")
    commitment = ledger.repository.get(commitment_id)
    commitment.amend(changes={"visibility": Visibility.PARTNERS}, reason="Partners only", actor=lead, request_id="e1")
    ledger.commit(commitment)
    assert ledger.repository.get(commitment_id).visibility is Visibility.PARTNERS
    assert ledger.repository.get(commitment_id, version=4).visibility is Visibility.PUBLIC
