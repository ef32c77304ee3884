"""The demo data: New Zealand's first OGP national action plan (2014–16).

Published facts: four commitments and nine milestones; the plan ran July 2014 – June
2016 and said it would be amended as work progressed; its own table (2014) says which
OGP principles each commitment serves; the Kia Tūtahi accord was endorsed by Cabinet
on 13 June 2011 and signed at Parliament on 1 August 2011; NZ0003's outcome was a
Cabinet paper in September 2016; the government's mid-term self-assessment (draft of
22 September 2015, published January 2016) reported substantial progress across all
commitments; the OGP Independent Reporting Mechanism (IRM) rated all four "limited" in
its progress report on the plan's first year (July 2014 – June 2015) and all four
"substantial" in its end-of-term report, published at the end of February 2017, which
found no commitment that opened government majorly or outstandingly.

The plans are records too: the 2014–16 plan, adopted, which ended with its period on
30 June 2016; and the second plan (2016–18), recorded while it was open for
consultation, with the government's extension of that consultation on 21 April 2016
as an amendment giving its reason, then its adoption and its end.

The IRM's ratings are recorded as assessments by the IRM itself (an assessor), never as
the lead agencies' reports. Everything beyond the published record (milestone titles
and dates, joint actions, notes, the supporting role of the Ministry of Social
Development, exact days where only a month or a period is published) is marked
"(illustrative)" in the data itself. Ids are derived from names (uuid5), so loading
twice changes nothing the second time; each commitment's whole history is committed in
one transaction, so an interrupted load never leaves half a commitment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID, uuid5

from application.credentials import holder_id
from application.ledger import Ledger
from domain.action_plan import ActionPlan
from domain.commitment import Commitment
from domain.joint_action import JointAction
from domain.partner import Partner
from domain.values import (
    Actor,
    ActorRole,
    AssessmentStage,
    Completion,
    OgpValue,
    OpenedGovernment,
    PartnerKind,
    PartnerRole,
    PlanStatus,
    Response,
    Visibility,
)

NAMESPACE = UUID("0b6f7c1e-2f43-5a0e-9d3e-6a1b5e2c7d10")
PLAN = "New Zealand National Action Plan 2014–16"
LOADER = Actor(ActorRole.ADMIN, uuid5(NAMESPACE, "admin:demo-loader"), "Tūtahi demo loader")
ILLUSTRATIVE = " (illustrative)"
IRM_NAME = "Independent Reporting Mechanism"
IRM = Actor(ActorRole.ASSESSOR, holder_id(ActorRole.ASSESSOR, IRM_NAME), IRM_NAME)
PLAN_STARTS, PLAN_ENDS = date(2014, 7, 1), date(2016, 6, 30)
SECOND_PLAN = "New Zealand National Action Plan 2016–18"

SSC = "State Services Commission"
DIA = "Department of Internal Affairs"
MSD = "Ministry of Social Development"
MOH = "Ministry of Health"
MPIA = "Ministry of Pacific Island Affairs"
SPORT = "Sport New Zealand"
TPK = "Te Puni Kōkiri"
TINZ = "Transparency International New Zealand"
HUI_E = "Hui E! Community Aotearoa"

PARTNERS: list[tuple[str, PartnerKind]] = [
    (SSC, PartnerKind.AGENCY),
    (DIA, PartnerKind.AGENCY),
    (MSD, PartnerKind.AGENCY),
    (MOH, PartnerKind.AGENCY),
    (MPIA, PartnerKind.AGENCY),
    (SPORT, PartnerKind.AGENCY),
    (TPK, PartnerKind.AGENCY),
    (TINZ, PartnerKind.CIVIL_SOCIETY),
    (HUI_E, PartnerKind.COMMUNITY_ORGANISATION),
]


def partner_id(name: str) -> UUID:
    return uuid5(NAMESPACE, f"partner:{name}")


def commitment_id(external_ref: str) -> UUID:
    return uuid5(NAMESPACE, f"commitment:{external_ref}")


@dataclass(frozen=True)
class SeedMilestone:
    title: str
    due_on: date
    reached_on: date | None
    by: str
    evidence_url: str | None = None


@dataclass(frozen=True)
class SeedAction:
    summary: str
    occurred_on: date
    by: str
    with_: list[str]
    responses: list[tuple[str, Response, str | None]]


@dataclass(frozen=True)
class SeedCommitment:
    external_ref: str
    title: str
    description: str
    lead: str
    values: list[OgpValue]
    partners: list[tuple[str, PartnerRole]]
    milestones: list[SeedMilestone]
    actions: list[SeedAction] = field(default_factory=list)
    amendment: tuple[dict[str, str], str] | None = None


@dataclass(frozen=True)
class SeedAssessment:
    stage: AssessmentStage
    assessed_on: date
    completion: Completion
    did_it_open_government: OpenedGovernment | None
    note: str


@dataclass(frozen=True)
class SeedReport:
    """A lead agency's own report, as at the date it describes."""

    as_of: date
    completion: Completion
    note: str


# The IRM's two reviews, the same for every commitment of the plan.
ASSESSMENTS = [
    SeedAssessment(
        AssessmentStage.MID_TERM,
        date(2015, 6, 30),
        Completion.LIMITED,
        None,
        "Progress report on the plan's first year (July 2014 – June 2015): completion limited. "
        "The date is the end of the year reviewed (illustrative: the report's own date is not in this data).",
    ),
    SeedAssessment(
        AssessmentStage.END_OF_TERM,
        date(2017, 2, 28),
        Completion.SUBSTANTIAL,
        OpenedGovernment.MARGINAL,
        "End-of-term report on the whole plan, published at the end of February 2017 (day illustrative): "
        "completion substantial; no commitment opened government majorly or outstandingly "
        "(marginal for this one: illustrative).",
    ),
]

# The government's own mid-term self-assessment, reported by each lead agency.
SELF_REPORTS = [
    SeedReport(
        date(2015, 9, 22),
        Completion.SUBSTANTIAL,
        "Mid-term self-assessment (draft of 22 September 2015, published January 2016): substantial progress "
        "across all commitments. (Completion level for this commitment illustrative.)",
    ),
]

# The plan's own table (2014) of the OGP principles each commitment serves: transparency,
# accountability, participation, and technology and innovation. (For NZ0003 it marks
# three principles; this data reads them as the first three.)
ALL_VALUES = [
    OgpValue.ACCESS_TO_INFORMATION,
    OgpValue.PUBLIC_ACCOUNTABILITY,
    OgpValue.CIVIC_PARTICIPATION,
    OgpValue.TECHNOLOGY_AND_INNOVATION,
]

COMMITMENTS: list[SeedCommitment] = [
    SeedCommitment(
        external_ref="NZ0001",
        title="Better Public Services (BPS) Results programme",
        description=(
            "Report publicly on progress towards the ten Better Public Services results, "
            "led by the State Services Commission with the result areas' lead agencies "
            "(the Ministry of Social Development's supporting role here is illustrative)."
        ),
        lead=SSC,
        values=ALL_VALUES,
        partners=[(MSD, PartnerRole.SUPPORT)],
        milestones=[
            SeedMilestone(
                "Publish six-monthly BPS results updates" + ILLUSTRATIVE, date(2014, 12, 31), date(2014, 12, 15), SSC
            ),
            SeedMilestone("Refresh result-area targets" + ILLUSTRATIVE, date(2016, 6, 30), date(2016, 6, 20), MSD),
        ],
    ),
    SeedCommitment(
        external_ref="NZ0002",
        title="Government ICT Strategy and Action Plan to 2017",
        description=(
            "Deliver the Government ICT Strategy and Action Plan to 2017, led by the "
            "Department of Internal Affairs as Government Chief Information Officer."
        ),
        lead=DIA,
        values=ALL_VALUES,
        partners=[],
        milestones=[
            SeedMilestone(
                "Publish the ICT Strategy progress report" + ILLUSTRATIVE, date(2015, 6, 30), date(2015, 7, 10), DIA
            ),
            SeedMilestone("Open data action plan checkpoint" + ILLUSTRATIVE, date(2016, 3, 31), None, DIA),
        ],
        amendment=(
            {
                "description": (
                    "Deliver the Government ICT Strategy and Action Plan to 2017, led by the "
                    "Department of Internal Affairs as Government Chief Information Officer, "
                    "including open data actions" + ILLUSTRATIVE + "."
                )
            },
            "The plan said from day one that it would be amended as work progressed" + ILLUSTRATIVE + ".",
        ),
    ),
    SeedCommitment(
        external_ref="NZ0003",
        title=("Respond to Transparency International New Zealand's 2013 National Integrity System Assessment"),
        description=(
            "Consider the recommendations of Transparency International New Zealand's 2013 "
            "National Integrity System Assessment; outcome: a Cabinet paper on the "
            "assessment's recommendations, September 2016. (The plan's table marks three "
            "OGP principles for it; which three is illustrative.)"
        ),
        lead=SSC,
        values=[OgpValue.ACCESS_TO_INFORMATION, OgpValue.PUBLIC_ACCOUNTABILITY, OgpValue.CIVIC_PARTICIPATION],
        partners=[(TINZ, PartnerRole.COMMUNITY)],
        milestones=[
            SeedMilestone(
                "Officials meet TINZ on the assessment" + ILLUSTRATIVE, date(2015, 3, 31), date(2015, 3, 18), SSC
            ),
            SeedMilestone(
                "Cabinet paper on the assessment's recommendations (due date illustrative; "
                "reached September 2016, day illustrative)",
                date(2016, 6, 30),
                date(2016, 9, 26),
                SSC,
            ),
        ],
        actions=[
            SeedAction(
                "Joint workshop on the assessment's recommendations" + ILLUSTRATIVE,
                date(2015, 3, 18),
                SSC,
                [TINZ],
                [(TINZ, Response.CONFIRMED, None)],
            ),
            SeedAction(
                "Agreed priority list of recommendations" + ILLUSTRATIVE,
                date(2015, 11, 5),
                SSC,
                [TINZ],
                [
                    (
                        TINZ,
                        Response.DISPUTED,
                        "We had not yet agreed the priorities at that meeting" + ILLUSTRATIVE + ".",
                    )
                ],
            ),
        ],
    ),
    SeedCommitment(
        external_ref="NZ0004",
        title="Review progress of the Kia Tūtahi Relationship Accord",
        description=(
            "Review progress of the Kia Tūtahi Relationship Accord between communities and "
            "government, endorsed by Cabinet on 13 June 2011 and signed at Parliament on "
            "1 August 2011. Its principles: respect Te Tiriti o Waitangi; a collective "
            "responsibility to hear and respond to the voices of all; act in good faith; "
            "trust and mutual respect; Ngā Mahinga (putting the principles into practice)."
        ),
        lead=DIA,
        values=[OgpValue.CIVIC_PARTICIPATION],
        partners=[
            (MOH, PartnerRole.SUPPORT),
            (MPIA, PartnerRole.SUPPORT),
            (MSD, PartnerRole.SUPPORT),
            (SPORT, PartnerRole.SUPPORT),
            (TPK, PartnerRole.SUPPORT),
            (HUI_E, PartnerRole.COMMUNITY),
        ],
        milestones=[
            SeedMilestone("Survey of agencies on the accord" + ILLUSTRATIVE, date(2015, 3, 31), date(2015, 4, 2), DIA),
            SeedMilestone("Community hui on Ngā Mahinga" + ILLUSTRATIVE, date(2015, 9, 30), date(2015, 9, 12), TPK),
            SeedMilestone("Publish the accord progress review" + ILLUSTRATIVE, date(2016, 6, 30), None, DIA),
        ],
        actions=[
            SeedAction(
                "Co-hosted a community hui on the accord's principles" + ILLUSTRATIVE,
                date(2015, 9, 12),
                DIA,
                [HUI_E, TPK],
                [
                    (HUI_E, Response.CONFIRMED, "Good turnout from community organisations" + ILLUSTRATIVE + "."),
                    (TPK, Response.CONFIRMED, None),
                ],
            ),
            SeedAction(
                "Gathered community organisations' feedback on the accord with the Department" + ILLUSTRATIVE,
                date(2016, 2, 18),
                HUI_E,
                [DIA],
                [(DIA, Response.CONFIRMED, None)],
            ),
        ],
    ),
]


def plan_id(name: str) -> UUID:
    return uuid5(NAMESPACE, f"plan:{name}")


@dataclass(frozen=True)
class SeedPlanChange:
    occurred_on: date
    changes: dict[str, object]
    reason: str


@dataclass(frozen=True)
class SeedPlan:
    name: str
    starts_on: date
    ends_on: date
    status: PlanStatus
    amendments: list[SeedPlanChange]


PLANS: list[SeedPlan] = [
    SeedPlan(
        PLAN,
        PLAN_STARTS,
        PLAN_ENDS,
        PlanStatus.ADOPTED,
        [
            SeedPlanChange(
                PLAN_ENDS,
                {"status": PlanStatus.ENDED},
                "The plan ran July 2014 – June 2016; its period ended on 30 June 2016.",
            )
        ],
    ),
    SeedPlan(
        SECOND_PLAN,
        date(2016, 7, 1),
        date(2018, 6, 30),
        PlanStatus.CONSULTATION,
        [
            SeedPlanChange(
                date(2016, 4, 21),
                {"starts_on": date(2016, 10, 1)},
                "On 21 April 2016 the government extended the consultation on the second plan; "
                "the plan's start moved with it (the new start date is illustrative).",
            ),
            SeedPlanChange(
                date(2016, 10, 1),
                {"status": PlanStatus.ADOPTED},
                "The plan was adopted after the consultation" + ILLUSTRATIVE + ".",
            ),
            SeedPlanChange(
                date(2018, 6, 30),
                {"status": PlanStatus.ENDED},
                "The plan's period ended on 30 June 2018" + ILLUSTRATIVE + ".",
            ),
        ],
    ),
]


def _plan(seed: SeedPlan) -> ActionPlan:
    """The seeded plan's whole history, through the domain's own rules."""
    plan = ActionPlan.create(
        id=plan_id(seed.name),
        name=seed.name,
        starts_on=seed.starts_on,
        ends_on=seed.ends_on,
        status=seed.status,
        actor=LOADER,
        request_id=f"demo-plan-{seed.starts_on.year}-1",
    )
    for index, change in enumerate(seed.amendments, start=2):
        plan.amend(
            changes=dict(change.changes),
            reason=change.reason,
            occurred_on=change.occurred_on,
            actor=LOADER,
            request_id=f"demo-plan-{seed.starts_on.year}-{index}",
        )
    return plan


def actor_of(name: str) -> Actor:
    """The demo partner ``name`` acting (an agency or a community organisation)."""
    kind = dict(PARTNERS)[name]
    role = ActorRole.AGENCY if kind is PartnerKind.AGENCY else ActorRole.COMMUNITY
    return Actor(role, partner_id(name), name)


def _build(seed: SeedCommitment, copy: int | None = None) -> list[Commitment | JointAction]:
    """The seeded commitment's whole history, and its joint actions', through the
    domain's own rules; as copy ``copy`` of the plan, under its own ids and reference
    (see ``import_copies``)."""
    lead = actor_of(seed.lead)
    ref = seed.external_ref if copy is None else f"{seed.external_ref}-copy-{copy}"
    counter = iter(range(1, 1000))

    def rid() -> str:
        return f"demo-{ref}-{next(counter)}"

    commitment = Commitment.start(
        id=commitment_id(ref),
        title=seed.title,
        description=seed.description,
        action_plan=PLAN if copy is None else f"{PLAN} (copy {copy}, for load trials)",
        external_ref=ref,
        starts_on=PLAN_STARTS,
        ends_on=PLAN_ENDS,
        ogp_values=seed.values,
        visibility=Visibility.PUBLIC,
        lead=(lead.id, lead.name, PartnerKind.AGENCY),
        actor=lead,
        request_id=rid(),
    )
    for name, role in seed.partners:
        commitment.add_partner(
            partner_id=partner_id(name),
            name=name,
            kind=dict(PARTNERS)[name],
            role=role,
            joined_on=PLAN_STARTS,
            actor=lead,
            request_id=rid(),
        )
    for index, milestone in enumerate(seed.milestones):
        commitment.add_milestone(
            milestone_id=uuid5(NAMESPACE, f"milestone:{ref}:{index}"),
            title=milestone.title,
            due_on=milestone.due_on,
            actor=lead,
            request_id=rid(),
        )
    if seed.amendment is not None:
        changes, reason = seed.amendment
        commitment.amend(changes=dict(changes), reason=reason, actor=lead, request_id=rid())
    for index, milestone in enumerate(seed.milestones):
        if milestone.reached_on is not None:
            commitment.reach_milestone(
                milestone_id=uuid5(NAMESPACE, f"milestone:{ref}:{index}"),
                reached_on=milestone.reached_on,
                today=milestone.reached_on,
                evidence_url=milestone.evidence_url,
                note=None,
                actor=actor_of(milestone.by),
                request_id=rid(),
            )
    actions: list[Commitment | JointAction] = []
    for index, seeded in enumerate(seed.actions):
        action = JointAction.record(
            id=uuid5(NAMESPACE, f"action:{ref}:{index}"),
            commitment=commitment,
            summary=seeded.summary,
            occurred_on=seeded.occurred_on,
            partner_ids=[partner_id(name) for name in seeded.with_],
            evidence_url=None,
            actor=actor_of(seeded.by),
            request_id=rid(),
        )
        for name, response, note in seeded.responses:
            action.respond(commitment=commitment, response=response, note=note, actor=actor_of(name), request_id=rid())
        actions.append(action)
    for report in SELF_REPORTS:
        commitment.report_progress(
            completion=report.completion,
            note=report.note,
            as_of=report.as_of,
            today=report.as_of,
            actor=lead,
            request_id=rid(),
        )
    for index, assessment in enumerate(ASSESSMENTS):
        commitment.record_assessment(
            assessment_id=uuid5(NAMESPACE, f"assessment:{ref}:{index}"),
            stage=assessment.stage,
            assessed_on=assessment.assessed_on,
            completion=assessment.completion,
            did_it_open_government=assessment.did_it_open_government,
            note=assessment.note,
            today=assessment.assessed_on,
            actor=IRM,
            request_id=rid(),
        )
    return [commitment, *actions]


@dataclass(frozen=True)
class DemoResult:
    partners_added: int
    commitments_added: int
    events_added: int
    plans_added: int = 0


def load_demo(ledger: Ledger, progress: Callable[[str], None] | None = None) -> DemoResult:
    """Loads the 2014–16 plan, its commitments, and the second plan's record; what is
    already there is left as it is."""
    report = progress or (lambda _: None)
    new_partners = [
        Partner.register(
            id=partner_id(name), name=name, kind=kind, external_ref=None, actor=LOADER, request_id="demo-partners"
        )
        for name, kind in PARTNERS
        if not ledger.partner_exists(partner_id(name))
    ]
    events = 0
    if new_partners:
        events += len(ledger.commit(*new_partners))
    report(f"partners: {len(new_partners)} registered, {len(PARTNERS) - len(new_partners)} already there")
    new_plans = [_plan(seed) for seed in PLANS if not ledger.recorded(plan_id(seed.name))]
    if new_plans:
        events += len(ledger.commit(*new_plans))
    report(f"plans: {len(new_plans)} recorded, {len(PLANS) - len(new_plans)} already there")
    added = 0
    for seed in COMMITMENTS:
        if ledger.commitment_exists(commitment_id(seed.external_ref)):
            report(f"{seed.external_ref}: already there")
            continue
        history = _build(seed)
        made = len(ledger.commit(*history))
        events += made
        added += 1
        report(f"{seed.external_ref}: {made} events")
    return DemoResult(len(new_partners), added, events, len(new_plans))


def plan_copy(copy: int) -> list[Commitment | JointAction]:
    """The plan's commitments and their joint actions once more, as copy ``copy`` (from
    1): the same partners and histories under their own ids (``NZ0001-copy-7``), for
    load and scale trials."""
    if copy < 1:
        raise ValueError("copies are numbered from 1")
    return [aggregate for seed in COMMITMENTS for aggregate in _build(seed, copy)]


@dataclass(frozen=True)
class ImportResult:
    copies_added: int
    events_added: int


def import_copies(
    ledger: Ledger,
    copies: int,
    *,
    per_transaction: int = 20,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Imports copies 1..``copies`` of the plan (after the demo's partners) through the
    ledger's batch path: ``per_transaction`` copies' commitments, their events, log
    events and read models in each transaction. Copies already there
    are skipped, so an interrupted import can be run again to finish.
    ``progress(done, copies)`` is called after each transaction."""
    if copies < 0 or per_transaction < 1:
        raise ValueError("copies must be 0 or more, per_transaction 1 or more")
    load_demo(ledger)
    events = added = 0
    for first in range(1, copies + 1, per_transaction):
        last = min(first + per_transaction - 1, copies)
        missing = [n for n in range(first, last + 1) if not ledger.recorded(_copy_id(n))]
        batch = [aggregate for n in missing for aggregate in plan_copy(n)]
        if batch:
            events += len(ledger.commit(*batch))
            added += len(missing)
        if progress is not None:
            progress(last, copies)
    return ImportResult(added, events)


def _copy_id(copy: int) -> UUID:
    """The id of a copy's first commitment (a copy is committed whole or not at all)."""
    return commitment_id(f"{COMMITMENTS[0].external_ref}-copy-{copy}")
