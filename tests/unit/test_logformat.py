"""The log's hashed format (``application.logformat``): canonical JSON through the C
encoder equals RFC 8785 for the documents the log writes, documents are placed at their
position without re-encoding, and the domain reads back exactly what was written."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from application.logformat import (
    Draft,
    FormatError,
    canonical,
    document_bytes,
    draft,
    leaf_hash,
    position_in,
    read_event,
)
from domain.commitment import Commitment
from domain.values import Actor, ActorRole, OgpValue, PartnerKind, PartnerRole, Visibility

# Keys are the ASCII names of event fields and the envelope's; numbers are integers a
# double holds exactly; text is any Unicode a store can keep (no lone surrogates).
KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=16)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
SCALARS = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | TEXT
DOCUMENTS = st.dictionaries(
    KEYS,
    st.recursive(
        SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12
    ),
    max_size=8,
)


@settings(max_examples=250, deadline=None)
@given(document=DOCUMENTS)
def test_canonical_json_of_documents_is_rfc8785(document: dict[str, Any]) -> None:
    assert canonical(document) == rfc8785.dumps(document)


@settings(max_examples=100, deadline=None)
@given(text=TEXT, position=st.integers(0, 2**53 - 1))
def test_a_placed_document_is_the_rfc8785_form_of_the_event_and_reads_back(text: str, position: int) -> None:
    """A real event with arbitrary text (controls, quotes, backslashes, astral and
    combining characters): its bytes at a position are RFC 8785 of its document,
    they state the position, and they read back as the same event."""
    actor = Actor(ActorRole.AGENCY, UUID(int=7), f"Te Tari {text}")
    event = Commitment.CommitmentCreated(
        originator_id=UUID(int=42),
        originator_version=1,
        timestamp=datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC),
        originator_topic="domain.commitment:Commitment",
        title=f"Kia Tūtahi {text}",
        description=text,
        action_plan="Plan",
        external_ref=text[:10],
        starts_on=date(2014, 7, 1),
        ends_on=date(2016, 6, 30),
        ogp_values=[OgpValue.ACCESS_TO_INFORMATION],
        visibility=Visibility.PARTNERS,
        actor=actor,
        request_id="r-1",
    )

    stored = document_bytes(event, position)

    assert stored == rfc8785.dumps(json.loads(stored))
    assert json.loads(stored)["position"] == position == position_in(stored)
    again = read_event(stored)
    assert type(again) is type(event) and vars(again) == vars(event)
    assert document_bytes(again, position) == stored


def test_a_document_holds_api_fields_and_its_leaf_is_sha256_of_0x00_and_its_bytes() -> None:
    actor = Actor(ActorRole.AGENCY, UUID(int=7), "Department of Internal Affairs")
    event = Commitment.PartnerJoined(
        originator_id=UUID(int=42),
        originator_version=2,
        timestamp=datetime(2015, 1, 1, tzinfo=UTC),
        partner_id=UUID(int=9),
        name="Hui E!",
        kind=PartnerKind.COMMUNITY_ORGANISATION,
        role=PartnerRole.COMMUNITY,
        joined_on=date(2014, 12, 24),
        actor=actor,
        request_id="r-2",
    )

    stored = document_bytes(event, 5)

    assert json.loads(stored) == {
        "position": 5,
        "aggregate_id": str(UUID(int=42)),
        "aggregate_type": "commitment",
        "version": 2,
        "type": "PartnerJoined",
        "recorded_at": "2015-01-01T00:00:00.000000Z",
        "actor": {"id": str(UUID(int=7)), "role": "agency", "name": "Department of Internal Affairs"},
        "request_id": "r-2",
        "class_version": 2,  # PartnerJoined gained joined_on after release 0.1.0
        "data": {
            "partner_id": str(UUID(int=9)),
            "name": "Hui E!",
            "kind": "community_organisation",
            "role": "community",
            "joined_on": "2014-12-24",
        },
    }
    assert leaf_hash(stored) == hashlib.sha256(b"\x00" + stored).digest()
    assert draft(event).placed(5) == stored


def test_a_draft_is_placed_without_re_encoding() -> None:
    placed = Draft(b'{"a":1,"data":{}', b'"recorded_at":"x","version":1}').placed(12)
    assert placed == b'{"a":1,"data":{},"position":12,"recorded_at":"x","version":1}'
    assert position_in(placed) == 12


@pytest.mark.parametrize(
    "junk",
    [b"", b"not json", b"{}", b'{"aggregate_type":"commitment","type":"NoSuchEvent","data":{}}', b"[1,2]"],
)
def test_bytes_that_are_not_a_document_are_refused(junk: bytes) -> None:
    with pytest.raises(FormatError):
        read_event(junk)
    assert position_in(junk) is None


def test_a_document_of_a_newer_class_version_is_refused_not_misread() -> None:
    stored = document_bytes(
        Commitment.CommitmentWithdrawn(
            originator_id=UUID(int=1),
            originator_version=9,
            timestamp=datetime(2016, 1, 1, tzinfo=UTC),
            reason="done",
            actor=Actor(ActorRole.AGENCY, UUID(int=7), "DIA"),
            request_id="r",
        ),
        3,
    )
    newer = json.loads(stored)
    newer["class_version"] = 2
    with pytest.raises(FormatError, match="newer release"):
        read_event(canonical(newer))
