"""Value objects and vocabularies of the domain language (docs/domain.md)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from functools import lru_cache
from uuid import UUID

from domain.errors import InvalidValue


class PartnerKind(Enum):
    """What kind of organisation a partner is."""

    AGENCY = "agency"
    COMMUNITY_ORGANISATION = "community_organisation"
    IWI_HAPU = "iwi_hapu"
    CIVIL_SOCIETY = "civil_society"
    BUSINESS = "business"


class PartnerRole(Enum):
    """The part a partner plays in one commitment."""

    LEAD = "lead"
    SUPPORT = "support"
    COMMUNITY = "community"

    def fits(self, kind: PartnerKind) -> bool:
        """Leads and supports are agencies; every other kind takes part as community."""
        if kind is PartnerKind.AGENCY:
            return self in (PartnerRole.LEAD, PartnerRole.SUPPORT)
        return self is PartnerRole.COMMUNITY


class ActorRole(Enum):
    """The role a caller acts in (the role of its credential)."""

    AGENCY = "agency"
    COMMUNITY = "community"
    AUDITOR = "auditor"
    ASSESSOR = "assessor"  # an independent reviewer: reads as an auditor, records assessments
    ADMIN = "admin"

    @property
    def sees_everything(self) -> bool:
        """Auditors, assessors and admins see partners-only commitments too."""
        return self in (ActorRole.AUDITOR, ActorRole.ASSESSOR, ActorRole.ADMIN)


class Visibility(Enum):
    PUBLIC = "public"
    PARTNERS = "partners"


class Status(Enum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class Completion(Enum):
    """OGP's completion scale."""

    NOT_STARTED = "not_started"
    LIMITED = "limited"
    SUBSTANTIAL = "substantial"
    COMPLETE = "complete"


class PlanStatus(Enum):
    """Where an action plan is: open for consultation, adopted, or ended (in that order)."""

    CONSULTATION = "consultation"
    ADOPTED = "adopted"
    ENDED = "ended"

    @property
    def rank(self) -> int:
        return list(PlanStatus).index(self)


class OgpValue(Enum):
    ACCESS_TO_INFORMATION = "access_to_information"
    CIVIC_PARTICIPATION = "civic_participation"
    PUBLIC_ACCOUNTABILITY = "public_accountability"
    TECHNOLOGY_AND_INNOVATION = "technology_and_innovation"


class Response(Enum):
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


class ActionStatus(Enum):
    RECORDED = "recorded"
    WITHDRAWN = "withdrawn"


class AssessmentStage(Enum):
    """When in a plan's life an independent assessment was made."""

    MID_TERM = "mid_term"
    END_OF_TERM = "end_of_term"
    OTHER = "other"


class OpenedGovernment(Enum):
    """The OGP Independent Reporting Mechanism's "did it open government?" scale."""

    WORSENED = "worsened"
    DID_NOT_CHANGE = "did_not_change"
    MARGINAL = "marginal"
    MAJOR = "major"
    OUTSTANDING = "outstanding"


@dataclass(frozen=True)
class Actor:
    """Who recorded an event: a partner acting as agency or community (``id`` is the
    partner's), or a named auditor or admin (``id`` is the credential holder's)."""

    role: ActorRole
    id: UUID
    name: str

    @property
    def is_partner(self) -> bool:
        return self.role in (ActorRole.AGENCY, ActorRole.COMMUNITY)


@dataclass(frozen=True)
class Membership:
    """A partner's place in a commitment."""

    partner_id: UUID
    name: str
    kind: PartnerKind
    role: PartnerRole
    joined_at: datetime  # when the membership was recorded
    joined_on: date | None = None  # the date the partnership began in the world, where given


@dataclass(frozen=True)
class Milestone:
    id: UUID
    title: str
    due_on: date
    reached_on: date | None = None
    evidence_url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ActionState:
    """What a joint action is at some moment: the claim, the responses of the partners
    it names, and whether its recorder withdrew it. (A ``JointAction`` aggregate's state,
    and the state of an action a commitment recorded in its own stream before actions
    were aggregates of their own.)"""

    id: UUID
    summary: str
    occurred_on: date
    recorded_by: UUID
    partner_ids: list[UUID]
    evidence_url: str | None = None
    # partner id (as canonical string) -> its response and note
    responses: dict[str, ActionResponse] = field(default_factory=dict)
    status: ActionStatus = ActionStatus.RECORDED
    withdrawal_reason: str | None = None


@dataclass(frozen=True)
class ActionResponse:
    partner_id: UUID
    response: Response
    note: str | None
    responded_at: datetime


@dataclass(frozen=True)
class ProgressReport:
    completion: Completion
    note: str
    reported_at: datetime
    as_of: date | None = None  # the date the report describes (None: reports of release 0.1.0)


@dataclass(frozen=True)
class Assessment:
    """An independent reviewer's assessment of a commitment (IRM scale)."""

    id: UUID
    stage: AssessmentStage
    assessed_on: date
    completion: Completion
    did_it_open_government: OpenedGovernment | None
    starred: bool
    report_url: str | None
    note: str | None
    assessor_id: UUID
    assessor_name: str
    recorded_at: datetime


TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
NOTE_MAX = 10_000
URL_MAX = 2_000
NAME_MAX = 200
REF_MAX = 100


def nfc(text: str) -> str:
    """Text is stored as given after Unicode NFC normalisation (macrons kept)."""
    return unicodedata.normalize("NFC", text)


# The long texts, which may run over several lines: line feeds and tabs are allowed in them.
LONG_TEXTS = frozenset({"description", "note", "summary", "reason"})
# Control characters (Unicode's ``Cc``: C0, DEL and C1). No store, feed, calendar or
# picture shows them as text, and lxml (under the SVG and Atom writers) refuses most.
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Unicode's Bidi_Control characters: in a URL they make it read as another address.
BIDI_CONTROLS = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SURROGATES = re.compile(r"[\ud800-\udfff]")
# Dates a commitment can describe. Older and later dates are typing mistakes (9999-12-31,
# 0001-01-01), and the calendar arithmetic of pictures and calendars overflows near them.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)


def storable(text: str, field_name: str) -> str:
    """Refuses text no store or renderer can keep as given: lone surrogates (not
    encodable as UTF-8) and control characters (NUL, which PostgreSQL text refuses,
    among them). The long texts (``LONG_TEXTS``) keep line feeds and tabs."""
    if SURROGATES.search(text):
        raise InvalidValue(field_name, "must be valid Unicode text (no lone surrogates)")
    long_text = field_name in LONG_TEXTS
    found = (CONTROLS_BUT_LINES if long_text else CONTROLS).search(text)
    if found:
        allowed = " (line feeds and tabs are allowed)" if long_text else ""
        raise InvalidValue(
            field_name, f"must not contain control characters such as U+{ord(found.group()):04X}{allowed}"
        )
    return text


def check_day(day: date, field_name: str) -> date:
    """A date between 1900-01-01 and 2199-12-31."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidValue(field_name, f"must be between {EARLIEST_DAY} and {LATEST_DAY}")
    return day


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """A search key that ignores case and macrons: ``Kia Tūtahi`` -> ``kia tutahi``
    (remembered: read models fold the same texts at every change of a commitment)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def clean_title(value: str, field_name: str = "title", maximum: int = TITLE_MAX) -> str:
    """Trimmed (a line feed or tab around a title is trimmed with the spaces, not refused)."""
    text = storable(nfc(value).strip(), field_name)
    if not text:
        raise InvalidValue(field_name, "must not be empty")
    if len(text) > maximum:
        raise InvalidValue(field_name, f"must be at most {maximum} characters")
    return text


def clean_text(value: str, field_name: str, maximum: int, required: bool = False) -> str:
    text = storable(nfc(value), field_name)
    if required and not text.strip():
        raise InvalidValue(field_name, "must not be empty")
    if len(text) > maximum:
        raise InvalidValue(field_name, f"must be at most {maximum} characters")
    return text


def clean_optional(value: str | None, field_name: str, maximum: int) -> str | None:
    if value is None:
        return None
    return clean_text(value, field_name, maximum)


def clean_url(value: str | None, field_name: str = "evidence_url") -> str | None:
    if value is None:
        return None
    url = storable(nfc(value).strip(), field_name)
    if BIDI_CONTROLS.search(url):
        raise InvalidValue(field_name, "must not contain bidirectional control characters")
    if not (url.startswith("https://") or url.startswith("http://")) or len(url) > URL_MAX:
        raise InvalidValue(field_name, f"must be an http(s) URL of at most {URL_MAX} characters")
    if any(c.isspace() for c in url) or len(url.split("://", 1)[1]) == 0:
        raise InvalidValue(field_name, "must be an http(s) URL without spaces")
    return url


def check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise InvalidValue("ends_on", "must be on or after starts_on")
