"""Damage assessment writes (SPEC §15): open an assessment for a car (from a rescue case, a handover sheet or on its
own) with the photos already taken, add photos by angle, ask the store's proposer for suggestions, the assessor's
accept / change / reject and own findings, the insurance fields, and the approval that turns the findings into the
repair order's priced jobs through the estimate services (no re-entry). Every write is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from aftersales.common import audit
from aftersales.common.db import service_atomic
from aftersales.common.errors import Conflict, DomainError, IllegalTransition, Problems, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.transitions import allowed
from aftersales.common.uploads import check_image
from aftersales.common.validators import choice_value, decimal_value, text_value

from . import proposers
from .choices import (
    ASSESSMENT_TRANSITIONS,
    Action,
    Angle,
    AssessmentStatus,
    DamageType,
    Decision,
    FindingSource,
    Panel,
    PhotoSource,
    ProposerKind,
    Severity,
    ShareDecision,
)
from .models import Assessment, AssessmentPhoto, AssessmentSettings, DamageRule, Finding

MAX_PHOTOS = 40
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
H = Decimal("0.01")
GLASS_AND_LAMPS = {Panel.WINDSCREEN, Panel.REAR_WINDOW, Panel.HEADLAMP_LEFT, Panel.HEADLAMP_RIGHT, Panel.TAILLAMP_LEFT,
                   Panel.TAILLAMP_RIGHT, Panel.MIRROR_LEFT, Panel.MIRROR_RIGHT}


def _choice(value: Any, choices: Any, field: str, problems: Problems) -> str:
    return choice_value(value, choices, field, problems)


def _text(value: Any, field: str, limit: int, problems: Problems) -> str:
    return text_value(value, field, limit, problems)


def _decimal(value: Any, field: str, problems: Problems, *, lo: Decimal, hi: Decimal) -> Decimal | None:
    return decimal_value(value, field, problems, lo=lo, hi=hi, places=H)


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


def _audit(actor: Any, a: Assessment, action: str, changes: dict[str, list[Any]] | None = None, at: Any = None,
           reason: str = "") -> None:
    audit.record(actor=actor, obj=a, action=action, store_id=a.store_id, customer_id=a.customer_id,
                 changes=changes or {}, at=at, reason=reason)


def _locked(a: Assessment) -> Assessment:
    return Assessment.objects.select_for_update().get(pk=a.pk)


def _editable(a: Assessment) -> None:
    if a.status != AssessmentStatus.DRAFT:
        raise Conflict("assessment_closed", _("This assessment is no longer open."), "status")


def _move(a: Assessment, to: str) -> None:
    if not allowed(ASSESSMENT_TRANSITIONS, a.status, to):
        raise IllegalTransition("illegal_transition", _("Cannot go from “%(a)s” to “%(b)s”.") % {
            "a": AssessmentStatus(a.status).label, "b": AssessmentStatus(to).label}, "status")
    a.status = to


def settings_for(store: Any) -> AssessmentSettings:
    found = AssessmentSettings.objects.filter(store=store).first()
    return found or AssessmentSettings(store=store)


# ---- the rule table -----------------------------------------------------------------------------------------------
def default_rule(panel: str, damage_type: str, severity: str) -> tuple[str, Decimal]:
    """The built-in table when the store has no row: glass, lamps and mirrors that crack or break are replaced; a
    severe or broken or missing part is replaced; a light scratch is painted; the rest is repaired and painted."""
    if damage_type in (DamageType.BROKEN, DamageType.MISSING) or severity == Severity.SEVERE:
        return Action.REPLACE, Decimal("1.50")
    if panel in GLASS_AND_LAMPS and damage_type in (DamageType.CRACK, DamageType.DEFORMED):
        return Action.REPLACE, Decimal("1.00")
    if damage_type == DamageType.SCRATCH and severity == Severity.LIGHT:
        return Action.PAINT, Decimal("1.50")
    return Action.REPAIR, Decimal("2.00") if severity == Severity.LIGHT else Decimal("3.00")


def rule_for(store_id: int, panel: str, damage_type: str, severity: str) -> tuple[str, Decimal, DamageRule | None]:
    row = (DamageRule.objects.select_related("operation", "part")
           .filter(store_id=store_id, panel=panel, damage_type=damage_type, severity=severity).first())
    if row is not None:
        hours = row.operation.standard_hours if row.operation is not None else row.hours
        return row.action, hours, row
    action, hours = default_rule(panel, damage_type, severity)
    return action, hours, None


def rule_save(*, actor: Any, store: Any, panel: Any, damage_type: Any, severity: Any, action: Any, hours: Any = None,
              operation: Any = None, part: Any = None, quantity: Any = None) -> DamageRule:
    """The manager's row of the rule table (one per panel × damage × severity and store)."""
    require(actor, "assessments.change_damagerule")
    require_store(actor, store.pk)
    problems = Problems()
    panel = _choice(panel, Panel, "panel", problems)
    damage_type = _choice(damage_type, DamageType, "damage_type", problems)
    severity = _choice(severity, Severity, "severity", problems)
    action = _choice(action, Action, "action", problems)
    hours_value = _decimal(hours, "hours", problems, lo=Decimal("0"), hi=Decimal("99"))
    qty = _decimal(quantity, "quantity", problems, lo=Decimal("0.01"), hi=Decimal("999"))
    if operation is not None and not hasattr(operation, "group_id"):  # picked by id on the rules page
        from aftersales.estimates.models import LabourOperation

        picked = str(operation).strip()
        operation = LabourOperation.objects.filter(group_id=store.group_id, is_active=True, pk=int(picked)).first() \
            if picked.isdigit() and len(picked) < 10 else None
        if operation is None and picked:
            problems.add("operation_not_found", _("No such operation in the labour guide."), "operation")
    if part is not None and not hasattr(part, "group_id"):  # picked by its number on the rules page
        from aftersales.parts.models import Part

        number = str(part).split(" · ")[0].strip()
        part = Part.objects.filter(group_id=store.group_id, number__iexact=number).first() if number else None
        if part is None and number:
            problems.add("part_not_found", _("No such part in the catalogue."), "part")
    if operation is not None and operation.group_id != store.group_id:
        problems.add("operation_not_found", _("No such operation in the labour guide."), "operation")
    if part is not None and part.group_id != store.group_id:
        problems.add("part_not_found", _("No such part in the catalogue."), "part")
    problems.raise_if_any()
    with service_atomic():
        rule, created = DamageRule.objects.select_for_update().get_or_create(
            store=store, panel=panel, damage_type=damage_type, severity=severity, defaults={"action": action})
        before = {"action": rule.action, "hours": str(rule.hours)}
        rule.action, rule.operation, rule.part = action, operation, part
        if hours_value is not None:
            rule.hours = hours_value
        if qty is not None:
            rule.quantity = qty
        rule.save()
        audit.record(actor=actor, obj=rule, action="damage_rule.saved", store_id=store.pk,
                     changes={"action": [None if created else before["action"], action],
                              "hours": [None if created else before["hours"], str(rule.hours)]})
    return rule


def settings_save(*, actor: Any, store: Any, baseline_minutes: Any, proposer: Any, model_path: Any = "",
                  service_url: Any = "") -> AssessmentSettings:
    require(actor, "assessments.change_assessmentsettings")
    require_store(actor, store.pk)
    problems = Problems()
    baseline = _decimal(baseline_minutes, "baseline_minutes", problems, lo=Decimal("1"), hi=Decimal("1440"))
    if baseline is None and not problems:
        problems.add("required", _("Enter the baseline in minutes."), "baseline_minutes")
    kind = _choice(proposer, ProposerKind, "proposer", problems)
    model_path = _text(model_path, "model_path", 300, problems)
    service_url = _text(service_url, "service_url", 200, problems)
    if kind == ProposerKind.ONNX and not model_path:
        problems.add("required", _("Name the model file."), "model_path")
    if kind == ProposerKind.HTTP and not service_url.startswith("https://"):
        problems.add("https_required", _("The vendor service must be an https:// address."), "service_url")
    problems.raise_if_any()
    with service_atomic():
        row, _created = AssessmentSettings.objects.select_for_update().get_or_create(store=store)
        before = [row.baseline_minutes, row.proposer]
        row.baseline_minutes, row.proposer = int(baseline or 60), kind
        row.model_path, row.service_url = model_path, service_url
        row.save()
        audit.record(actor=actor, obj=row, action="assessment_settings.saved", store_id=store.pk,
                     changes={"baseline_proposer": [before, [row.baseline_minutes, kind]]})
    return row


# ---- opening and photos -------------------------------------------------------------------------------------------
def _store_photo(a: Assessment, image: Any, *, angle: str, source: str, actor: Any, at: dt.datetime) -> AssessmentPhoto:
    if AssessmentPhoto.objects.filter(assessment=a).count() >= MAX_PHOTOS:
        raise ValidationFailed("too_many", _("At most %(n)s photos per assessment.") % {"n": MAX_PHOTOS}, "photo")
    content = image.content
    digest = hashlib.sha256(content).hexdigest()[:16]
    photo = AssessmentPhoto(assessment=a, angle=angle, source=source, width=image.width, height=image.height,
                            size=len(content), taken_by=actor if getattr(actor, "pk", None) else None, taken_at=at)
    photo.image.save(f"{digest}.{image.extension}", ContentFile(content), save=False)
    photo.save()
    if a.first_photo_at is None:
        a.first_photo_at = at
        Assessment.objects.filter(pk=a.pk).update(first_photo_at=at)
    return photo


def _copy(a: Assessment, file: Any, *, source: str, actor: Any, at: dt.datetime) -> None:
    with file.open("rb") as fh:
        content = fh.read()
    _store_photo(a, check_image(content, field="photo"), angle=Angle.CLOSE_UP, source=source, actor=actor, at=at)


def assessment_open(*, actor: Any, store: Any = None, vehicle: Any = None, rescue_case: Any = None, handover: Any = None,
                    at: dt.datetime | None = None) -> Assessment:
    """Open an assessment for a car: from a rescue case or a handover sheet (their photos come along), or for a car
    on its own. One open assessment per rescue case or handover sheet."""
    require(actor, "assessments.add_assessment")
    source = rescue_case or handover
    if source is not None:
        store = source.store
        vehicle = source.vehicle
    if store is None:
        raise ValidationFailed("required", _("Pick the store."), "store")
    require_store(actor, store.pk)
    if vehicle is None:
        raise ValidationFailed("vehicle_unknown", _("Link the car first."), "vehicle")
    if vehicle.owner_id is None:
        raise ValidationFailed("vehicle_no_owner", _("The car has no owner on record."), "vehicle")
    if vehicle.group_id != store.group_id:
        raise ValidationFailed("vehicle_unknown", _("Link the car first."), "vehicle")
    at = _now(at)
    with service_atomic():
        open_ones = Assessment.objects.filter(status=AssessmentStatus.DRAFT)
        if rescue_case is not None and open_ones.filter(rescue_case=rescue_case).exists():
            raise Conflict("already_open", _("This case already has an open assessment."), "rescue_case")
        if handover is not None and open_ones.filter(handover=handover).exists():
            raise Conflict("already_open", _("This handover sheet already has an open assessment."), "handover")
        a = Assessment.objects.create(
            store=store, number=f"tmp-{hashlib.sha256(str((at, vehicle.pk, store.pk)).encode()).hexdigest()[:16]}",
            customer_id=vehicle.owner_id, vehicle=vehicle, rescue_case=rescue_case, handover=handover, created_at=at,
            created_by=actor if getattr(actor, "pk", None) else None,
            baseline_minutes=settings_for(store).baseline_minutes,
        )
        a.number = f"DA{timezone.localtime(at, store.zone):%y%m%d}{a.pk:05d}"
        a.save(update_fields=["number"])
        if rescue_case is not None:
            for photo in rescue_case.photos.all():
                _copy(a, photo.image, source=PhotoSource.OWNER if photo.by_customer else PhotoSource.RESCUE, actor=actor, at=at)
        if handover is not None:
            for photo in handover.photos.all():
                _copy(a, photo.image, source=PhotoSource.RECEPTION, actor=actor, at=at)
        _audit(actor, a, "assessment.opened", {"status": [None, AssessmentStatus.DRAFT]}, at)
    return a


def photo_add(*, actor: Any, assessment: Assessment, content: bytes, angle: Any = Angle.CLOSE_UP,
              at: dt.datetime | None = None) -> AssessmentPhoto:
    """A photo by angle from the phone capture page (crew, assessor): images only, stored upright without metadata."""
    require(actor, "assessments.add_assessmentphoto")
    require_store(actor, assessment.store_id)
    problems = Problems()
    angle = _choice(angle, Angle, "angle", problems)
    problems.raise_if_any()
    image = check_image(content, field="photo")
    at = _now(at)
    with service_atomic():
        locked = _locked(assessment)
        _editable(locked)
        photo = _store_photo(locked, image, angle=angle, source=PhotoSource.CAPTURE, actor=actor, at=at)
        _audit(actor, locked, "assessment.photo", {"photo": [None, photo.image.name]}, at)
    return photo


# ---- suggestions and findings -------------------------------------------------------------------------------------
def _proposer_input(a: Assessment) -> proposers.ProposerInput:
    data = proposers.ProposerInput()
    for photo in a.photos.all():
        with photo.image.open("rb") as fh:
            data.photos.append(proposers.PhotoIn(id=photo.pk, angle=photo.angle, content=fh.read()))
    if a.handover_id is not None:
        from aftersales.reception.models import DamageMark

        data.marks = [proposers.MarkIn(x=float(m.x), y=float(m.y), kind=m.kind) for m in DamageMark.objects.filter(handover_id=a.handover_id)]
    return data


def assessment_propose(*, actor: Any, assessment: Assessment, proposer: proposers.Proposer | None = None,
                       at: dt.datetime | None = None) -> list[Finding]:
    """Ask the store's proposer (or ``proposer``) for suggestions; the pending ones are replaced. The assessor
    reviews each. A proposer that fails leaves the assessment as it was (the assessor taps the panels)."""
    require(actor, "assessments.change_assessment")
    require_store(actor, assessment.store_id)
    _editable(assessment)
    if proposer is None:
        conf = settings_for(assessment.store)
        try:
            proposer = proposers.proposer_for(conf.proposer, model_path=conf.model_path, service_url=conf.service_url)
        except proposers.ProposerError as exc:
            raise Conflict("proposer_unavailable", _("Suggestions are not available: %(why)s") % {"why": exc}, "proposer") from exc
    try:
        proposal = proposer.propose(_proposer_input(assessment))
    except proposers.ProposerError as exc:
        raise Conflict("proposer_unavailable", _("Suggestions are not available: %(why)s") % {"why": exc}, "proposer") from exc
    at = _now(at)
    photo_ids = set(assessment.photos.values_list("pk", flat=True))
    with service_atomic():
        locked = _locked(assessment)
        _editable(locked)
        Finding.objects.filter(assessment=locked, source=FindingSource.PROPOSER, decision=Decision.PENDING).delete()
        rows = []
        for f in proposal.findings:
            action, hours, _rule = rule_for(locked.store_id, f.panel, f.damage_type, f.severity)
            rows.append(Finding(
                assessment=locked, source=FindingSource.PROPOSER, panel=f.panel, damage_type=f.damage_type,
                severity=f.severity, action=action, hours=hours, confidence=f.confidence, outline=f.outline,
                model_name=proposal.name, model_version=proposal.version,
                photo_id=f.photo_id if f.photo_id in photo_ids else None, created_at=at,
            ))
        Finding.objects.bulk_create(rows)
        locked.proposed_at, locked.proposer_name, locked.proposer_version = at, proposal.name, proposal.version
        locked.save(update_fields=["proposed_at", "proposer_name", "proposer_version"])
        _audit(actor, locked, "assessment.proposed", {"suggestions": [None, len(rows)]}, at, reason=proposal.name)
    return list(Finding.objects.filter(assessment=locked, source=FindingSource.PROPOSER, decision=Decision.PENDING))


def _clean_finding(values: dict[str, Any], problems: Problems) -> dict[str, Any]:
    out: dict[str, Any] = {
        "panel": _choice(values.get("panel"), Panel, "panel", problems),
        "damage_type": _choice(values.get("damage_type"), DamageType, "damage_type", problems),
        "severity": _choice(values.get("severity"), Severity, "severity", problems),
        "note": _text(values.get("note"), "note", 200, problems),
    }
    action = values.get("action")
    out["action"] = _choice(action, Action, "action", problems) if action not in (None, "") else ""
    out["hours"] = _decimal(values.get("hours"), "hours", problems, lo=Decimal("0"), hi=Decimal("99"))
    return out


def finding_add(*, actor: Any, assessment: Assessment, panel: Any, damage_type: Any, severity: Any, action: Any = None,
                hours: Any = None, note: Any = "", proposal: Finding | None = None, at: dt.datetime | None = None) -> Finding:
    """The assessor's finding (tapped on the diagram, or taken from a suggestion with or without changes). The
    decision and hours default to the rule table's."""
    require(actor, "assessments.change_assessment")
    require_store(actor, assessment.store_id)
    problems = Problems()
    v = _clean_finding({"panel": panel, "damage_type": damage_type, "severity": severity, "action": action,
                        "hours": hours, "note": note}, problems)
    if proposal is not None and (proposal.assessment_id != assessment.pk or proposal.source != FindingSource.PROPOSER):
        problems.add("not_a_suggestion", _("No such suggestion on this assessment."), "proposal")
    problems.raise_if_any()
    rule_action, rule_hours, _rule = rule_for(assessment.store_id, v["panel"], v["damage_type"], v["severity"])
    at = _now(at)
    with service_atomic():
        locked = _locked(assessment)
        _editable(locked)
        if Finding.objects.filter(assessment=locked, source=FindingSource.ASSESSOR, panel=v["panel"],
                                  damage_type=v["damage_type"]).exists():
            raise ValidationFailed("duplicate", _("This damage on this panel is already listed; change it instead."), "panel")
        finding = Finding.objects.create(
            assessment=locked, source=FindingSource.ASSESSOR, panel=v["panel"], damage_type=v["damage_type"],
            severity=v["severity"], action=v["action"] or rule_action,
            hours=v["hours"] if v["hours"] is not None else rule_hours, note=v["note"], proposal=proposal,
            photo=proposal.photo if proposal is not None else None,
            created_by=actor if getattr(actor, "pk", None) else None, created_at=at,
        )
        if proposal is not None:
            same = (proposal.panel, proposal.damage_type, proposal.severity, proposal.action) == (
                finding.panel, finding.damage_type, finding.severity, finding.action)
            Finding.objects.filter(pk=proposal.pk).update(decision=Decision.ACCEPTED if same else Decision.CHANGED)
        _audit(actor, locked, "assessment.finding_added", {"finding": [None, f"{finding.panel}/{finding.damage_type}/"
                                                                        f"{finding.severity}/{finding.action}"]}, at)
    return finding


def proposal_accept(*, actor: Any, proposal: Finding, at: dt.datetime | None = None) -> Finding:
    return finding_add(actor=actor, assessment=proposal.assessment, panel=proposal.panel, damage_type=proposal.damage_type,
                       severity=proposal.severity, action=proposal.action, hours=proposal.hours, proposal=proposal, at=at)


def proposal_reject(*, actor: Any, proposal: Finding, at: dt.datetime | None = None) -> Finding:
    require(actor, "assessments.change_assessment")
    require_store(actor, proposal.assessment.store_id)
    if proposal.source != FindingSource.PROPOSER:
        raise ValidationFailed("not_a_suggestion", _("No such suggestion on this assessment."), "proposal")
    at = _now(at)
    with service_atomic():
        locked = _locked(proposal.assessment)
        _editable(locked)
        changed = Finding.objects.filter(pk=proposal.pk, decision=Decision.PENDING).update(decision=Decision.REJECTED)
        if not changed:
            raise Conflict("already_reviewed", _("This suggestion has already been reviewed."), "proposal")
        _audit(actor, locked, "assessment.suggestion_rejected", {"finding": [f"{proposal.panel}/{proposal.damage_type}", None]}, at)
    proposal.decision = Decision.REJECTED
    return proposal


def finding_remove(*, actor: Any, finding: Finding, at: dt.datetime | None = None) -> None:
    require(actor, "assessments.change_assessment")
    require_store(actor, finding.assessment.store_id)
    if finding.source != FindingSource.ASSESSOR:
        raise ValidationFailed("not_a_finding", _("Only the assessor's findings can be removed."), "finding")
    with service_atomic():
        locked = _locked(finding.assessment)
        _editable(locked)
        if finding.proposal_id:  # the suggestion goes back to be reviewed again
            Finding.objects.filter(pk=finding.proposal_id).update(decision=Decision.PENDING)
        Finding.objects.filter(pk=finding.pk).delete()
        _audit(actor, locked, "assessment.finding_removed", {"finding": [f"{finding.panel}/{finding.damage_type}", None]}, _now(at))


def insurance_save(*, actor: Any, assessment: Assessment, insurer: Any = "", policy_number: Any = "", claim_number: Any = "",
                   insurer_assessor: Any = "", insurer_approved: Any = None, note: Any = "") -> Assessment:
    """The insurer, policy and claim numbers, the insurer's assessor and the amount the insurer approves."""
    require(actor, "assessments.change_assessment")
    require_store(actor, assessment.store_id)
    problems = Problems()
    values = {
        "insurer": _text(insurer, "insurer", 80, problems),
        "policy_number": _text(policy_number, "policy_number", 40, problems),
        "claim_number": _text(claim_number, "claim_number", 40, problems),
        "insurer_assessor": _text(insurer_assessor, "insurer_assessor", 60, problems),
        "insurer_approved": _decimal(insurer_approved, "insurer_approved", problems, lo=Decimal("0"), hi=Decimal("9999999")),
        "note": _text(note, "note", 500, problems),
    }
    if values["insurer_approved"] is not None and not values["insurer"]:
        problems.add("required", _("Name the insurer that approves the amount."), "insurer")
    problems.raise_if_any()
    with service_atomic():
        locked = _locked(assessment)
        if locked.status == AssessmentStatus.CANCELLED:
            raise Conflict("assessment_closed", _("This assessment is no longer open."), "status")
        changes = {k: [str(getattr(locked, k) or ""), str(v or "")] for k, v in values.items() if getattr(locked, k) != v}
        for k, v in values.items():
            setattr(locked, k, v)
        locked.save(update_fields=list(values))
        _audit(actor, locked, "assessment.insurance", changes)
        if locked.order_id is not None and locked.status == AssessmentStatus.APPROVED:
            _order_insurance(actor, locked, locked.order)
    return locked


def _order_insurance(actor: Any, assessment: Assessment, order: Any) -> None:
    """Carry the insurer and its approved amount onto the repair order of an approved assessment: the estimate's
    customer approves (and the invoice collects) only their share; the insurer's part is shown beside it."""
    from aftersales.workshop.models import RepairOrder

    name = assessment.insurer if assessment.insurer_approved is not None else ""
    amount = assessment.insurer_approved
    policy = assessment.policy_number if amount is not None else ""
    claim = assessment.claim_number if amount is not None else ""
    if (order.insurer_name, order.insurer_amount, order.insurance_policy, order.insurance_claim) == (name, amount, policy, claim):
        return
    before = [order.insurer_name, str(order.insurer_amount) if order.insurer_amount is not None else None,
              order.insurance_policy, order.insurance_claim]
    RepairOrder.objects.filter(pk=order.pk).update(
        insurer_name=name, insurer_amount=amount, insurance_policy=policy, insurance_claim=claim)
    order.insurer_name, order.insurer_amount, order.insurance_policy, order.insurance_claim = name, amount, policy, claim
    audit.record(actor=actor, obj=order, action="repair_order.insurance", store_id=order.store_id,
                 customer_id=order.customer_id,
                 changes={"insurance": [before, [name, str(amount) if amount is not None else None, policy, claim]]},
                 reason=assessment.number)


def assessment_cancel(*, actor: Any, assessment: Assessment, reason: Any = "", at: dt.datetime | None = None) -> Assessment:
    require(actor, "assessments.change_assessment")
    require_store(actor, assessment.store_id)
    at = _now(at)
    with service_atomic():
        locked = _locked(assessment)
        before = locked.status
        _move(locked, AssessmentStatus.CANCELLED)
        locked.save(update_fields=["status"])
        _audit(actor, locked, "assessment.cancelled", {"status": [before, locked.status]}, at, reason=str(reason or "")[:200])
    return locked


# ---- approval → repair order --------------------------------------------------------------------------------------
def _job_title(f: Finding) -> str:
    return f"{Panel(f.panel).label} · {DamageType(f.damage_type).label} · {Action(f.action).label}"


def _part_lines(rule: DamageRule | None, language: str) -> list[dict[str, Any]]:
    if rule is None or rule.part is None:
        return []
    from aftersales.parts.catalogue import price_for
    from aftersales.workshop.choices import LineKind

    part = rule.part
    return [{"kind": LineKind.PART, "code": part.number, "quantity": rule.quantity, "unit_price": price_for(part),
             "unit_cost": part.cost_price, "part": part, "is_aftermarket": not part.is_oem,
             "description": part.name_en if language == "en" and part.name_en else part.name_zh}]


def assessment_approve(*, actor: Any, assessment: Assessment, at: dt.datetime | None = None) -> Assessment:
    """The assessor approves: every suggestion reviewed, at least one finding and one photo. The repair order is
    opened for the car (or the handover sheet's order is used), each finding becomes a proposed, priced job (hours
    at the store's rate, the rule's catalogue part), the photos go with the jobs, and the estimate is ready to send:
    the customer approves their share as for any estimate. The time from the first photo is kept."""
    require(actor, "assessments.approve_assessment")
    require(actor, "workshop.change_repairorder")
    require_store(actor, assessment.store_id)
    from aftersales.estimates.models import WorkPhoto
    from aftersales.estimates.services import estimate_add_job
    from aftersales.workshop.choices import EDITABLE_STATES, JobType
    from aftersales.workshop.services import repair_order_check_in

    at = _now(at)
    with service_atomic():
        locked = _locked(assessment)
        before = locked.status
        _move(locked, AssessmentStatus.APPROVED)
        problems = Problems()
        findings = list(Finding.objects.filter(assessment=locked, source=FindingSource.ASSESSOR).order_by("id"))
        if Finding.objects.filter(assessment=locked, source=FindingSource.PROPOSER, decision=Decision.PENDING).exists():
            problems.add("suggestions_pending", _("Review every suggestion first (accept, change or reject)."), "findings")
        if not findings:
            problems.add("findings_required", _("List at least one damage."), "findings")
        photos = list(locked.photos.all())
        if not photos:
            problems.add("photos_required", _("Add at least one photo."), "photos")
        problems.raise_if_any()
        order = None
        if locked.handover_id is not None and locked.handover is not None and locked.handover.order_id is not None:
            order = locked.handover.order
            if order is not None and order.status not in EDITABLE_STATES:
                order = None
        language = "en" if getattr(locked.customer, "language", "") == "en" else "zh-hans"
        with override(language):
            if order is None:
                complaint = _("Accident damage, assessment %(n)s") % {"n": locked.number}
                if locked.claim_number:
                    complaint += " · " + _("claim %(c)s") % {"c": locked.claim_number}
                order = repair_order_check_in(actor=actor, store=locked.store, customer=locked.customer,
                                              vehicle=locked.vehicle, complaint=complaint, at=at)
            jobs = []
            for f in findings:
                _action, _hours, rule = rule_for(locked.store_id, f.panel, f.damage_type, f.severity)
                jobs.append(estimate_add_job(
                    actor=actor, order=order, title=_job_title(f), job_type=JobType.REPAIR, hours=f.hours,
                    lines=_part_lines(rule if f.action == Action.REPLACE else None, language),
                    cause=(f"{Severity(f.severity).label} · {f.note}" if f.note else str(Severity(f.severity).label))[:300],
                    at=at,
                ))
        by_photo = {f.photo_id: job for f, job in zip(findings, jobs, strict=True) if f.photo_id}
        WorkPhoto.objects.bulk_create([
            WorkPhoto(order=order, job=by_photo.get(p.pk, jobs[0]), image=p.image.name, content_type=CONTENT_TYPES.get(str(p.image.name).rsplit(".", 1)[-1], "image/jpeg"),
                      width=p.width, height=p.height, uploaded_by=p.taken_by, at=at)
            for p in photos
        ])
        order.refresh_from_db()
        start = locked.first_photo_at or locked.created_at
        locked.minutes = max(1, math.ceil((at - start).total_seconds() / 60))
        locked.approved_at, locked.approved_by, locked.order, locked.total = at, actor, order, order.total
        _order_insurance(actor, locked, order)
        locked.save(update_fields=["status", "minutes", "approved_at", "approved_by", "order", "total"])
        _audit(actor, locked, "assessment.approved", {"status": [before, locked.status], "order": [None, order.number],
                                                       "minutes": [None, locked.minutes]}, at)
    return locked


def error_fields(exc: DomainError) -> dict[str, str]:
    errors = {str(e["field"]): str(e["message"]) for e in exc.extra.get("errors", [])}
    errors.setdefault(str(exc.field or "general"), str(exc.message))
    return errors


# ---- outlines drawn on a photo ------------------------------------------------------------------------------------
MAX_OUTLINES = 12


def _clean_outlines(shapes: Any, problems: Problems) -> list[dict[str, Any]]:
    """Rectangles ({x, y, w, h}, each in 0…1, inside the photo, not empty) and polygons ({points: [[x, y], …]}: 3–64
    points inside the photo, a real area, no crossing edges) as fractions of the photo; every bad area is named."""
    from .outlines import MAX_POINTS, polygon_problem

    if isinstance(shapes, str):
        try:
            shapes = json.loads(shapes or "[]")
        except ValueError:
            shapes = None
    if not isinstance(shapes, list) or len(shapes) > MAX_OUTLINES:
        problems.add("outline_invalid", _("Draw at most %(n)s areas on a photo.") % {"n": MAX_OUTLINES}, "outlines")
        return []
    out: list[dict[str, Any]] = []
    why = {
        "unreadable": _("Area %(n)s could not be read; draw it again."),
        "points": _("Area %(n)s needs 3 to %(max)s points."),
        "outside": _("Area %(n)s lies outside the photo; draw it again."),
        "degenerate": _("Area %(n)s has no area or its edges cross; draw it again."),
    }
    for index, shape in enumerate(shapes, start=1):
        field = f"outlines.{index}"
        if isinstance(shape, dict) and "points" in shape:
            points, problem = polygon_problem(shape["points"])
            if points is None:
                problems.add("outline_invalid", why[problem] % {"n": index, "max": MAX_POINTS}, field)
            else:
                out.append({"points": points})
            continue
        try:
            x, y, w, h = (float(shape[k]) for k in ("x", "y", "w", "h"))
        except (TypeError, KeyError, ValueError):
            problems.add("outline_invalid", why["unreadable"] % {"n": index}, field)
            continue
        if not all(math.isfinite(v) for v in (x, y, w, h)) or min(x, y) < 0 or w < 0.01 or h < 0.01 \
                or x + w > 1.0001 or y + h > 1.0001:
            problems.add("outline_invalid", why["outside"] % {"n": index}, field)
            continue
        out.append({"x": round(x, 4), "y": round(y, 4), "w": round(w, 4), "h": round(h, 4)})
    return out


def photo_outline_save(*, actor: Any, photo: AssessmentPhoto, shapes: Any, at: dt.datetime | None = None) -> AssessmentPhoto:
    """The assessor marks the damaged areas on a photo (replacing what was drawn before); shown on the desk, to the
    owner and in the report."""
    require(actor, "assessments.change_assessment")
    require_store(actor, photo.assessment.store_id)
    problems = Problems()
    outlines = _clean_outlines(shapes, problems)
    problems.raise_if_any()
    with service_atomic():
        locked = _locked(photo.assessment)
        _editable(locked)
        before = len(photo.outlines or [])
        AssessmentPhoto.objects.filter(pk=photo.pk).update(outlines=outlines)
        photo.outlines = outlines
        _audit(actor, locked, "assessment.outline", {"outlines": [before, len(outlines)]}, _now(at))
    return photo


# ---- the owner: signed link, report, their share, their photos ------------------------------------------------------
OWNER_SALT = "assessments.owner"
OWNER_LINK_DAYS = 60


def owner_token(a: Assessment) -> str:
    return signing.dumps({"a": a.pk}, salt=OWNER_SALT, compress=True)


def owner_url(a: Assessment) -> str:
    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}{reverse('assessment_owner:page', args=[owner_token(a)])}"


def assessment_from_token(token: str) -> Assessment | None:
    """The assessment behind an owner's link (None for a bad or expired link)."""
    try:
        data = signing.loads(token, salt=OWNER_SALT, max_age=dt.timedelta(days=OWNER_LINK_DAYS))
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        return None
    return (Assessment.objects.select_related("store", "customer", "vehicle", "order", "approved_by")
            .exclude(status=AssessmentStatus.CANCELLED).filter(pk=data["a"]).first())


def report_send(*, actor: Any, assessment: Assessment, at: dt.datetime | None = None) -> Assessment:
    """Send the owner the signed link to the report and their share (SMS / WeChat, in their language). Once approved;
    sending again after the figures changed sends again, a double click does not."""
    require(actor, "assessments.change_assessment")
    require_store(actor, assessment.store_id)
    from aftersales.messaging.services import customer_variables, message_enqueue

    at = _now(at)
    with service_atomic():
        locked = _locked(assessment)
        if locked.status != AssessmentStatus.APPROVED:
            raise Conflict("not_approved", _("Approve the assessment before sending the report."), "status")
        variables = {**customer_variables(customer=locked.customer, store=locked.store), "plate": locked.vehicle.plate,
                     "model": f"{locked.vehicle.make} {locked.vehicle.model}".strip(),
                     "insurer_amount": f"{locked.insurer_part:,.2f}", "amount": f"{locked.owner_part:,.2f}",
                     "link": owner_url(locked)}
        message_enqueue(kind="assessment.report", store=locked.store, customer=locked.customer, variables=variables,
                        dedup_key=f"assessment-report:{locked.pk}:{locked.total}:{locked.insurer_approved}")
        locked.report_sent_at = at
        locked.save(update_fields=["report_sent_at"])
        _audit(actor, locked, "assessment.report_sent", {"report_sent_at": [None, at.isoformat()]}, at)
    return locked


def share_decide(*, assessment: Assessment, decision: Any, signer_name: Any, agree: Any = False,
                 at: dt.datetime | None = None, ip: str | None = None) -> Assessment:
    """The owner approves or declines their share behind the signed link (no login: the link is the key). Recorded
    with the time and the name; the repair order shows it (and its audit trail has it)."""
    problems = Problems()
    choice = _choice(decision, ShareDecision, "decision", problems)
    name = _text(signer_name, "signer_name", 60, problems)
    if not name and not problems.has("signer_name"):
        problems.add("required", _("Write your name."), "signer_name")
    if choice == ShareDecision.APPROVED and not agree:
        problems.add("required", _("Tick the box to approve your share."), "agree")
    problems.raise_if_any()
    at = _now(at)
    with service_atomic():
        locked = _locked(assessment)
        if locked.status != AssessmentStatus.APPROVED or locked.order_id is None:
            raise Conflict("not_approved", _("The assessment is not ready for your decision yet."), "status")
        if locked.share_decision and locked.share_amount == locked.owner_part:
            raise Conflict("already_decided", _("Your decision is already recorded."), "decision")
        locked.share_decision, locked.share_amount, locked.share_decided_at, locked.share_signer = (
            choice, locked.owner_part, at, name)
        locked.save(update_fields=["share_decision", "share_amount", "share_decided_at", "share_signer"])
        changes = {"share_decision": [None, choice], "share_amount": [None, str(locked.owner_part)]}
        _audit(None, locked, "assessment.share_decided", changes, at, reason=coded(
            gettext_noop("Customer's share %(amount)s (%(signer)s)"), amount=str(locked.owner_part), signer=name))
        order = locked.order
        assert order is not None  # checked above
        audit.record(actor=None, obj=order, action="repair_order.customer_share", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes=changes, at=at, reason=coded(
                         gettext_noop("Assessment %(n)s: customer's share %(amount)s"), n=locked.number,
                         amount=str(locked.owner_part)))
    return locked


OWNER_MAX_PHOTOS = 30


def owner_photo_add(*, assessment: Assessment, content: bytes, angle: Any = Angle.CLOSE_UP,
                    at: dt.datetime | None = None) -> AssessmentPhoto:
    """A photo the owner takes on the guided capture page behind the signed link: images only, stored upright
    without metadata, while the assessment is open."""
    problems = Problems()
    angle = _choice(angle, Angle, "angle", problems)
    problems.raise_if_any()
    image = check_image(content, field="photo")
    at = _now(at)
    with service_atomic():
        locked = _locked(assessment)
        _editable(locked)
        if AssessmentPhoto.objects.filter(assessment=locked, source=PhotoSource.OWNER).count() >= OWNER_MAX_PHOTOS:
            raise ValidationFailed("too_many", _("At most %(n)s photos per assessment.") % {"n": OWNER_MAX_PHOTOS}, "photo")
        photo = _store_photo(locked, image, angle=angle, source=PhotoSource.OWNER, actor=None, at=at)
        _audit(None, locked, "assessment.owner_photo", {"photo": [None, photo.image.name]}, at)
    return photo
