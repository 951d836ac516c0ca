"""Inspections (SPEC §4) and quality control (SPEC §7): every write, keyword-only, one transaction, audited.

The repair order and its jobs change state only through ``workshop.services.repair_order_move`` /
``repair_job_move``; proposed jobs are added with ``repair_job_add``. The customer hears about the report only
through the outbox (``messaging.services.message_enqueue``, de-duplicated per inspection and revision).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop, override
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.db import held, hold, service_atomic
from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.transitions import move
from aftersales.workshop.choices import APPROVED_JOB_STATES, JobStatus, JobType, OrderStatus
from aftersales.workshop.models import RepairJob, RepairOrder

from . import defaults as shipped
from .choices import (
    INSPECTION_TRANSITIONS,
    QC_PURPOSES,
    ChecklistPurpose,
    InspectionStatus,
    ItemKind,
    QcResult,
    Rating,
)
from .models import (
    Checklist,
    ChecklistGroup,
    ChecklistItem,
    Inspection,
    InspectionEvent,
    InspectionItem,
    InspectionPhoto,
    QcCheck,
    QcCheckItem,
    Rework,
)
from .photos import check_photo
from .thresholds import LIMIT_FIELDS, check_limits, colour, parse_decimal

UNSET: Any = object()

# Orders an inspection may start on (the car is here and the estimate is not yet approved).
INSPECTABLE_STATES = (OrderStatus.CHECKED_IN, OrderStatus.INSPECTING, OrderStatus.ESTIMATE_SENT)
# Orders whose work is being finished and checked.
QC_STATES = (OrderStatus.IN_PROGRESS, OrderStatus.WAITING_PARTS, OrderStatus.WAITING_AUTH, OrderStatus.QUALITY_CHECK)
FINISHED_JOB_STATES = (JobStatus.DONE, JobStatus.PASSED_QC)

QC_PERMISSIONS: dict[str, str] = {
    ChecklistPurpose.SELF_CHECK: "inspections.sign_self_check",
    ChecklistPurpose.PEER_CHECK: "inspections.sign_peer_check",
    ChecklistPurpose.FINAL_QC: "inspections.sign_final_qc",
    ChecklistPurpose.CLEANING: "inspections.sign_cleaning",
}


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _is_store_staff(user: Any, store_id: int) -> bool:
    return user is not None and user.memberships.filter(store_id=store_id).exists()


# ---- checklists -------------------------------------------------------------------------------------------------
def _item_spec(spec: tuple[Any, ...]) -> dict[str, Any]:
    zh, en = spec[0], spec[1]
    optional = zh.startswith("?")
    row: dict[str, Any] = {
        "name_zh": zh.lstrip("?"), "name_en": en, "optional": optional, "kind": ItemKind.CHECK,
        "operation_code": shipped.OPERATIONS.get(zh.lstrip("?"), ""),
    }
    if len(spec) > 2:
        row.update(kind=ItemKind.MEASURE, unit=spec[2], **dict(zip(LIMIT_FIELDS, spec[3:7], strict=True)))
    return row


def operation_codes(store: Any) -> set[str]:
    """The codes of the active operations of the store's labour guide (the group's)."""
    from aftersales.estimates.models import LabourOperation

    return set(LabourOperation.objects.filter(group_id=store.group_id, is_active=True).values_list("code", flat=True))


def install_default_checklists(*, store: Any, actor: Any = None) -> list[Checklist]:
    """Create the shipped checklists a store does not have yet (by code) and link them to its service types.

    Setup code (the demo, ``aftersales install_checklists``) calls this directly; staff go through
    :func:`checklist_install_defaults`, which checks the manager's permission first.
    """
    from aftersales.appointments.models import ServiceType

    created = []
    existing = set(Checklist.objects.filter(store=store).values_list("code", flat=True))
    types = list(ServiceType.objects.filter(store=store, is_active=True))
    with service_atomic():
        for spec in shipped.DEFAULTS:
            if spec["code"] in existing:
                continue
            data = {
                "code": spec["code"], "purpose": spec["purpose"], "name_zh": spec["zh"], "name_en": spec["en"],
                "for_ev": spec.get("for_ev", False), "is_default": spec.get("is_default", False),
                "service_type_ids": [
                    t.pk for t in types
                    if (t.kind in spec.get("service_kinds", ()) and t.required_skill != "ev")
                    or t.required_skill in spec.get("service_skills", ())
                ],
                "groups": [
                    {"name_zh": gzh, "name_en": gen, "items": [_item_spec(i) for i in items]}
                    for gzh, gen, items in spec["groups"]
                ],
            }
            created.append(_checklist_write(actor=actor, store=store, checklist=None, data=data, check_codes=False))
    return created


def checklist_install_defaults(*, actor: Any, store: Any) -> list[Checklist]:
    require(actor, "inspections.add_checklist")
    require_store(actor, store.pk)
    return install_default_checklists(store=store, actor=actor)


def checklist_save(*, actor: Any, store: Any, data: dict[str, Any], checklist: Checklist | None = None) -> Checklist:
    """Create or replace a checklist with its groups and items (rows left out are removed; ids keep rows).

    ``data``: code, purpose, name_zh, name_en, service_type_ids, for_ev, is_default, is_active and
    ``groups: [{id?, name_zh, name_en, items: [{id?, name_zh, name_en, kind, unit, red_below, yellow_below,
    yellow_above, red_above, optional, operation_code}]}]`` (``operation_code``: the labour guide's
    operation proposed when the item is red or yellow). Inspections already started keep their own copy of the items.
    """
    require(actor, "inspections.change_checklist" if checklist else "inspections.add_checklist")
    require_store(actor, store.pk)
    if checklist is not None and checklist.store_id != store.pk:
        raise ValidationFailed("checklist_other_store", _("This checklist belongs to another store."), "checklist")
    with service_atomic():
        return _checklist_write(actor=actor, store=store, checklist=checklist, data=data)


def _checklist_write(
    *, actor: Any, store: Any, checklist: Checklist | None, data: dict[str, Any], check_codes: bool = True
) -> Checklist:
    """``check_codes=False`` for the shipped checklists: their operation codes may name operations the store's
    guide adds later (until then the proposed job arrives unpriced and flagged)."""
    from aftersales.appointments.models import ServiceType

    guide_codes = operation_codes(store) if check_codes else set()

    code = _text(data.get("code"), 40).lower()
    if not code or not all(ch.isalnum() or ch in "-_" for ch in code):
        raise ValidationFailed("code_invalid", _("Use letters, digits, - and _ for the code."), "code")
    purpose = data.get("purpose") or ChecklistPurpose.INSPECTION
    if purpose not in ChecklistPurpose.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": purpose}, "purpose")
    name_zh = _text(data.get("name_zh"), 80)
    if not name_zh:
        raise ValidationFailed("required", _("Name the checklist in Chinese."), "name_zh")
    clash = Checklist.objects.filter(store=store, code=code)
    if checklist is not None:
        clash = clash.exclude(pk=checklist.pk)
    if clash.exists():
        raise Conflict("code_taken", _("Another checklist of this store has this code."), "code")
    type_ids = [int(i) for i in data.get("service_type_ids") or []]
    types = list(ServiceType.objects.filter(store=store, pk__in=type_ids))
    if len(types) != len(set(type_ids)):
        raise ValidationFailed("service_type_unknown", _("Pick service types of this store."), "service_type_ids")
    groups = data.get("groups") or []
    if not groups or not any(g.get("items") for g in groups):
        raise ValidationFailed("items_required", _("A checklist needs at least one item."), "groups")
    before = None
    if checklist is None:
        checklist = Checklist(store=store)
    else:
        before = audit.snapshot(checklist, ["code", "name_zh", "name_en", "purpose", "is_default", "is_active"])
    checklist.code, checklist.purpose, checklist.name_zh = code, purpose, name_zh
    checklist.name_en = _text(data.get("name_en"), 80)
    checklist.for_ev = bool(data.get("for_ev", False))
    checklist.is_default = bool(data.get("is_default", False))
    checklist.is_active = bool(data.get("is_active", True))
    checklist.updated_at = timezone.now()
    checklist.updated_by = actor if getattr(actor, "pk", None) else None
    checklist.save()
    checklist.service_types.set(types)
    if checklist.is_default:
        Checklist.objects.filter(store=store, purpose=purpose, is_default=True).exclude(pk=checklist.pk).update(is_default=False)
    kept_groups: list[int] = []
    kept_items: list[int] = []
    old_groups = {g.pk: g for g in ChecklistGroup.objects.filter(checklist=checklist)}
    old_items = {i.pk: i for i in ChecklistItem.objects.filter(checklist=checklist)}
    for g_no, g_data in enumerate(groups, start=1):
        where = f"groups[{g_no}]"
        g_name = _text(g_data.get("name_zh"), 60)
        if not g_name:
            raise ValidationFailed("required", _("Name the group in Chinese."), f"{where}.name_zh")
        group = old_groups.get(int(g_data["id"])) if g_data.get("id") else None
        group = group or ChecklistGroup(checklist=checklist)
        group.seq, group.name_zh, group.name_en = g_no, g_name, _text(g_data.get("name_en"), 60)
        group.save()
        kept_groups.append(group.pk)
        for i_no, i_data in enumerate(g_data.get("items") or [], start=1):
            at = f"{where}.items[{i_no}]"
            name = _text(i_data.get("name_zh"), 80)
            if not name:
                raise ValidationFailed("required", _("Name the item in Chinese."), f"{at}.name_zh")
            kind = i_data.get("kind") or ItemKind.CHECK
            if kind not in ItemKind.values:
                raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": kind}, f"{at}.kind")
            limits = {f: parse_decimal(i_data.get(f), f"{at}.{f}") for f in LIMIT_FIELDS}
            if kind == ItemKind.MEASURE:
                if not _text(i_data.get("unit"), 12):
                    raise ValidationFailed("unit_required", _("Give the measurement's unit (e.g. mm, V, bar)."), f"{at}.unit")
                if all(v is None for v in limits.values()):
                    raise ValidationFailed("limits_required", _("Give at least one limit for the colours."), f"{at}.red_below")
                check_limits(limits, at)
            else:
                limits = dict.fromkeys(LIMIT_FIELDS)
            item = old_items.get(int(i_data["id"])) if i_data.get("id") else None
            item = item or ChecklistItem(checklist=checklist)
            item.group, item.seq, item.name_zh = group, i_no, name
            item.name_en = _text(i_data.get("name_en"), 80)
            item.kind = kind
            item.unit = _text(i_data.get("unit"), 12) if kind == ItemKind.MEASURE else ""
            item.optional = bool(i_data.get("optional", False))
            code = _text(i_data.get("operation_code"), 30).upper()
            if code and check_codes and code != item.operation_code and code not in guide_codes:
                raise ValidationFailed(
                    "operation_not_found", _("“%(c)s” is not in the labour guide.") % {"c": code}, f"{at}.operation_code"
                )
            item.operation_code = code
            for f, v in limits.items():
                setattr(item, f, v)
            item.save()
            kept_items.append(item.pk)
    ChecklistItem.objects.filter(checklist=checklist).exclude(pk__in=kept_items).delete()
    ChecklistGroup.objects.filter(checklist=checklist).exclude(pk__in=kept_groups).delete()
    after = audit.snapshot(checklist, ["code", "name_zh", "name_en", "purpose", "is_default", "is_active"])
    audit.record(
        actor=actor, obj=checklist, action="checklist.saved" if before else "checklist.created", store_id=store.pk,
        changes=audit.diff(before or {}, after) | {"items": [None, len(kept_items)]},
    )
    return checklist


def pick_checklist(order: RepairOrder) -> Checklist | None:
    """The checklist for an order: its booked service type's, else the EV one for an electric car, else the default."""
    active = Checklist.objects.filter(store_id=order.store_id, purpose=ChecklistPurpose.INSPECTION, is_active=True)
    appointment = getattr(order, "appointment", None)
    if appointment is not None:
        found = active.filter(service_types=appointment.service_type_id).order_by("-for_ev", "code").first()
        if found is not None:
            return found
    if getattr(order.vehicle, "fuel_type", "") == "ev":
        found = active.filter(for_ev=True).order_by("code").first()
        if found is not None:
            return found
    return active.filter(is_default=True).first() or active.order_by("code").first()


# ---- inspections ------------------------------------------------------------------------------------------------
def _move(inspection: Inspection, *, to: str, actor: Any, reason: str = "", at: dt.datetime | None = None) -> None:
    move(
        inspection, to=to, actor=actor, transitions=INSPECTION_TRANSITIONS, event_model=InspectionEvent,
        event_fk="inspection", labels=InspectionStatus, reason=reason[:300], at=at,
    )


def _lock(inspection: Inspection) -> Inspection:
    return Inspection.objects.select_for_update().select_related("order").get(pk=inspection.pk)


def _editable(inspection: Inspection) -> None:
    if inspection.status != InspectionStatus.IN_PROGRESS:
        raise Conflict("inspection_not_open", _("This inspection is closed; reopen it to change it."), "status")


def inspection_start(
    *, actor: Any, order: RepairOrder, checklist: Checklist | None = None, technician: Any = None,
    at: dt.datetime | None = None,
) -> Inspection:
    """Start inspecting an order's car with a checklist (copied onto the inspection); the order moves to
    "inspecting". The technician fills it in; the advisor, foreman or manager starts it."""
    from aftersales.workshop.services import repair_order_move

    require(actor, "inspections.add_inspection")
    require_store(actor, order.store_id)
    at = at or timezone.now()
    checklist = checklist or pick_checklist(order)
    if checklist is None:
        raise ValidationFailed("checklist_required", _("This store has no inspection checklist yet; a manager sets them up."), "checklist")
    if checklist.store_id != order.store_id or checklist.purpose != ChecklistPurpose.INSPECTION or not checklist.is_active:
        raise ValidationFailed("checklist_invalid", _("Pick an active inspection checklist of this store."), "checklist")
    if technician is not None and not _is_store_staff(technician, order.store_id):
        raise ValidationFailed("technician_invalid", _("The technician does not work at this store."), "technician")
    if technician is None and actor.groups.filter(name="technician").exists():
        technician = actor
    with service_atomic():
        locked = RepairOrder.objects.select_for_update().select_related("vehicle").get(pk=order.pk)
        if locked.status not in INSPECTABLE_STATES:
            raise Conflict("order_not_inspectable", _("The car can be inspected only before the estimate is approved."), "order")
        if Inspection.objects.filter(order=locked).exclude(status=InspectionStatus.CANCELLED).exists():
            raise Conflict("inspection_exists", _("This repair order already has an inspection."), "order")
        inspection = Inspection.objects.create(
            store_id=locked.store_id, order=locked, checklist=checklist, checklist_name_zh=checklist.name_zh,
            checklist_name_en=checklist.name_en, technician=technician, started_by=actor, started_at=at,
            mileage=locked.mileage_in, symptoms=locked.complaint,
        )
        items = ChecklistItem.objects.filter(checklist=checklist).select_related("group").order_by("group__seq", "seq", "id")
        InspectionItem.objects.bulk_create(
            InspectionItem(
                inspection=inspection, template_item=i, seq=n, group_zh=i.group.name_zh, group_en=i.group.name_en,
                name_zh=i.name_zh, name_en=i.name_en, kind=i.kind, unit=i.unit, red_below=i.red_below,
                yellow_below=i.yellow_below, yellow_above=i.yellow_above, red_above=i.red_above,
            )
            for n, i in enumerate(items, start=1)
        )
        InspectionEvent.objects.create(inspection=inspection, from_state="", to_state=inspection.status, actor=actor, at=at)
        if locked.status != OrderStatus.INSPECTING:
            repair_order_move(actor=actor, order=locked, to=OrderStatus.INSPECTING, reason=coded(gettext_noop("Inspection started")), at=at)
        audit.record(
            actor=actor, obj=inspection, action="inspection.started", store_id=locked.store_id,
            customer_id=locked.customer_id, changes={"checklist": [None, checklist.code]}, at=at,
        )
    return inspection


def inspection_item_record(
    *, actor: Any, item: InspectionItem, rating: str | None = None, value: Any = UNSET, notes: str | None = None,
    override_note: str | None = None, at: dt.datetime | None = None,
) -> InspectionItem:
    """Record an item: a colour, and for a measurement its value (coloured from the thresholds). A colour other
    than the measurement's needs a note saying why. Arguments left out keep their current value."""
    require(actor, "inspections.change_inspection")
    at = at or timezone.now()
    with service_atomic():
        inspection = _lock(item.inspection)
        require_store(actor, inspection.store_id)
        _editable(inspection)
        locked = InspectionItem.objects.select_for_update().get(pk=item.pk, inspection=inspection)
        before = audit.snapshot(locked, ["rating", "value", "notes", "override_note"])
        if rating not in (None, "") and rating not in Rating.values:
            raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": rating}, "rating")
        if value is not UNSET:
            if locked.kind != ItemKind.MEASURE and value not in (None, ""):
                raise ValidationFailed("not_a_measurement", _("This item takes no measurement."), "value")
            locked.value = parse_decimal(value, "value")
            if locked.value is not None and locked.value < 0:  # a depth, thickness, voltage or pressure is never below 0
                raise ValidationFailed(
                    "negative_measurement", _("A measurement cannot be negative: check the reading."), "value"
                )
            locked.auto_rating = colour(locked.value, locked.limits) if locked.value is not None else ""
        if notes is not None:
            locked.notes = _text(notes, 2000)
        if override_note is not None:
            locked.override_note = _text(override_note, 300)
        if rating:
            locked.rating = rating
        elif value is not UNSET and locked.auto_rating and (not locked.override_note or not locked.rating):
            # a new measurement recolours the item unless the colour was overridden on purpose with a note
            locked.rating = locked.auto_rating
        if locked.auto_rating and locked.rating and locked.rating != locked.auto_rating and not locked.override_note:
            raise ValidationFailed(
                "override_note_required",
                _("The measurement says %(auto)s; write a note saying why you chose %(chosen)s.")
                % {"auto": Rating(locked.auto_rating).label, "chosen": Rating(locked.rating).label},
                "override_note",
            )
        if locked.rating == locked.auto_rating:
            locked.override_note = ""
        changes = audit.diff(before, audit.snapshot(locked, ["rating", "value", "notes", "override_note"]))
        if changes:
            locked.checked_by = actor
            locked.checked_at = at
            locked.save()
            if inspection.technician_id is None:  # started without a technician: who records the items did it
                inspection.technician = actor
                inspection.save(update_fields=["technician"])
            audit.record(
                actor=actor, obj=inspection, action="inspection.item", store_id=inspection.store_id,
                customer_id=inspection.order.customer_id, changes={f"{locked.seq}.{k}": v for k, v in changes.items()}, at=at,
            )
    return locked


def inspection_photo_add(*, actor: Any, item: InspectionItem, upload: Any, at: dt.datetime | None = None) -> InspectionPhoto:
    """Attach a photo to an item (images only, size-capped, verified by decoding it)."""
    require(actor, "inspections.change_inspection")
    require_store(actor, item.inspection.store_id)
    checked = check_photo(upload)
    at = at or timezone.now()
    with service_atomic():
        inspection = _lock(item.inspection)
        _editable(inspection)
        if item.photos.count() >= 10:
            raise ValidationFailed("too_many_photos", _("At most 10 photos per item."), "photo")
        photo = InspectionPhoto(
            inspection=inspection, item=item, content_type=checked.content_type, size=len(checked.data),
            width=checked.width, height=checked.height, uploaded_by=actor, uploaded_at=at,
        )
        photo.file.save("photo", ContentFile(checked.data), save=False)
        try:
            photo.save()
            audit.record(
                actor=actor, obj=inspection, action="inspection.photo", store_id=inspection.store_id,
                customer_id=inspection.order.customer_id, changes={f"{item.seq}.photo": [None, photo.file.name]}, at=at,
            )
        except Exception:
            photo.file.delete(save=False)  # no orphan file for a row that was never written
            raise
    return photo


def inspection_photo_remove(*, actor: Any, photo: InspectionPhoto) -> None:
    require(actor, "inspections.change_inspection")
    require_store(actor, photo.inspection.store_id)
    with service_atomic():
        inspection = _lock(photo.inspection)
        _editable(inspection)
        name, storage = photo.file.name or "", photo.file.storage
        photo.delete()
        audit.record(
            actor=actor, obj=inspection, action="inspection.photo_removed", store_id=inspection.store_id,
            customer_id=inspection.order.customer_id, changes={"photo": [name, None]},
        )
        transaction.on_commit(lambda: storage.delete(name))


DIAGNOSIS_FIELDS = ("symptoms", "findings", "likely_causes", "recommended_work")


def inspection_diagnosis_save(*, actor: Any, inspection: Inspection, **fields: Any) -> Inspection:
    """The diagnosis report: symptoms, findings, likely causes, recommended work (fields left out stay)."""
    require(actor, "inspections.change_inspection")
    require_store(actor, inspection.store_id)
    unknown = set(fields) - set(DIAGNOSIS_FIELDS)
    if unknown:
        raise ValidationFailed("unknown_field", _("Unknown field."), sorted(unknown)[0])
    with service_atomic():
        locked = _lock(inspection)
        _editable(locked)
        before = audit.snapshot(locked, DIAGNOSIS_FIELDS)
        for name, value in fields.items():
            if value is not None:
                text = str(value).strip()
                if len(text) > 4000:
                    raise ValidationFailed("too_long", _("Keep it under 4,000 characters."), name)
                setattr(locked, name, text)
        changes = audit.diff(before, audit.snapshot(locked, DIAGNOSIS_FIELDS))
        if changes:
            locked.save(update_fields=list(DIAGNOSIS_FIELDS))
            audit.record(
                actor=actor, obj=locked, action="inspection.diagnosis", store_id=locked.store_id,
                customer_id=locked.order.customer_id, changes={k: ["…", "…"] for k in changes},
            )
    return locked


def inspection_complete(*, actor: Any, inspection: Inspection, at: dt.datetime | None = None) -> Inspection:
    """Finish the inspection: every item must have a colour. Each completion is a new revision of the report."""
    require(actor, "inspections.change_inspection")
    require_store(actor, inspection.store_id)
    at = at or timezone.now()
    with service_atomic():
        locked = _lock(inspection)
        _editable(locked)
        open_items = list(locked.items.filter(rating="").values_list("seq", flat=True))
        if open_items:
            raise ValidationFailed(
                "items_unrated",
                _("%(n)s item(s) have no colour yet (first: no. %(first)s).") % {"n": len(open_items), "first": open_items[0]},
                f"items[{open_items[0]}].rating",
            )
        _move(locked, to=InspectionStatus.COMPLETED, actor=actor, at=at)
        locked.completed_at = at
        locked.revision += 1
        locked.save(update_fields=["completed_at", "revision"])
        audit.record(
            actor=actor, obj=locked, action="inspection.completed", store_id=locked.store_id,
            customer_id=locked.order.customer_id, changes={"status": [InspectionStatus.IN_PROGRESS, InspectionStatus.COMPLETED]},
            at=at,
        )
    return locked


def inspection_reopen(*, actor: Any, inspection: Inspection, reason: str, at: dt.datetime | None = None) -> Inspection:
    require(actor, "inspections.change_inspection")
    require_store(actor, inspection.store_id)
    reason = _text(reason, 300)
    if not reason:
        raise ValidationFailed("reason_required", _("Say why the inspection is reopened."), "reason")
    with service_atomic():
        locked = _lock(inspection)
        _move(locked, to=InspectionStatus.IN_PROGRESS, actor=actor, reason=reason, at=at)
        audit.record(
            actor=actor, obj=locked, action="inspection.reopened", store_id=locked.store_id,
            customer_id=locked.order.customer_id, reason=reason, at=at,
        )
    return locked


def inspection_cancel(*, actor: Any, inspection: Inspection, reason: str, at: dt.datetime | None = None) -> Inspection:
    require(actor, "inspections.add_inspection")
    require_store(actor, inspection.store_id)
    reason = _text(reason, 300)
    if not reason:
        raise ValidationFailed("reason_required", _("Say why the inspection is cancelled."), "reason")
    with service_atomic():
        locked = _lock(inspection)
        _move(locked, to=InspectionStatus.CANCELLED, actor=actor, reason=reason, at=at)
        audit.record(
            actor=actor, obj=locked, action="inspection.cancelled", store_id=locked.store_id,
            customer_id=locked.order.customer_id, reason=reason, at=at,
        )
    return locked


def _titled(item: InspectionItem, name: str) -> str:
    if item.value is None:
        return name
    return f"{name} ({item.value.normalize():f} {item.unit})".replace(" )", ")")


def _job_title(item: InspectionItem, language: str) -> str:
    """The proposed job's title: the item's name (and its reading) in both languages when it has both, "前刹车片厚度
    (2 mm) / Front brake pad thickness (2 mm)", so that each reader reads their own half (issue 16: ``job_title``);
    in the customer's language alone when both would not fit."""
    one = _titled(item, item.name_in(language))[:200]
    if not (item.name_zh and item.name_en and item.name_zh != item.name_en):
        return one
    both = f"{_titled(item, item.name_zh)} / {_titled(item, item.name_en)}"
    return both if len(both) <= 200 else one


def _mapped_operations(order: RepairOrder, items: list[InspectionItem]) -> dict[int, Any]:
    """item id → the active labour operation its checklist item is mapped to (the store's group guide)."""
    from aftersales.estimates.models import LabourOperation

    mapped = dict(
        ChecklistItem.objects.filter(pk__in=[i.template_item_id for i in items if i.template_item_id])
        .values_list("pk", "operation_code")
    )
    codes = {
        i.pk: mapped.get(i.template_item_id, "") if i.template_item_id else shipped.OPERATIONS.get(i.name_zh, "")
        for i in items
    }
    ops = {
        op.code: op for op in LabourOperation.objects.filter(
            group_id=order.store.group_id, is_active=True, code__in=set(codes.values())
        )
    }
    return {pk: ops[code] for pk, code in codes.items() if code in ops}


def inspection_propose_jobs(*, actor: Any, inspection: Inspection, at: dt.datetime | None = None) -> list[RepairJob]:
    """Turn every red and yellow item without a job into a proposed job on the order (one action; red first).
    An item whose checklist item maps to an operation of the labour guide arrives priced (hours × the store's rate
    and its OEM parts); any other arrives unpriced, flagged on the estimate until the advisor prices it (an
    unpriced job is never sent). Running it again adds only what is new."""
    from aftersales.estimates.choices import PartChoice
    from aftersales.estimates.services import estimate_add_operation
    from aftersales.workshop.services import repair_job_add

    require(actor, "inspections.add_inspection")
    require_store(actor, inspection.store_id)
    at = at or timezone.now()
    jobs: list[RepairJob] = []
    with service_atomic():
        locked = _lock(inspection)
        if locked.status == InspectionStatus.CANCELLED:
            raise Conflict("inspection_cancelled", _("This inspection was cancelled."), "status")
        order = locked.order
        language = getattr(order.customer, "language", "") or "zh-hans"
        items = list(
            InspectionItem.objects.select_for_update()
            .filter(inspection=locked, rating__in=[Rating.RED, Rating.YELLOW], job__isnull=True)
            .order_by("seq")
        )
        if not items:
            raise Conflict("nothing_to_propose", _("No red or yellow item is waiting for a job."), "items")
        items.sort(key=lambda i: (i.rating != Rating.RED, i.seq))
        operations = _mapped_operations(order, items)
        for item in items:
            with override(language):
                label = str(Rating(item.rating).label)
            cause = "; ".join(p for p in (label, item.notes.strip()) if p)
            job = None
            operation = operations.get(item.pk)
            if operation is not None:
                found = "; ".join(p for p in (label, _titled(item, item.name_in(language)), item.notes.strip()) if p)
                try:
                    with transaction.atomic():  # priced from the labour guide and the catalogue (OEM parts)
                        (job,) = estimate_add_operation(
                            actor=actor, order=order, operation=operation, part_choice=PartChoice.OEM, cause=found[:300], at=at,
                        )
                except ValidationFailed:
                    job = None  # no labour rate, or no OEM part in the catalogue: proposed unpriced, flagged
            if job is None:
                job = repair_job_add(
                    actor=actor, order=order, title=_job_title(item, language), job_type=JobType.REPAIR, cause=cause[:300], at=at,
                )
            item.job = job
            item.save(update_fields=["job"])
            jobs.append(job)
        audit.record(
            actor=actor, obj=locked, action="inspection.jobs_proposed", store_id=locked.store_id,
            customer_id=order.customer_id, changes={"jobs": [None, [j.pk for j in jobs]]}, at=at,
        )
    return jobs


def inspection_report_send(*, actor: Any, inspection: Inspection, at: dt.datetime | None = None) -> Any:
    """Send the completed report's link to the customer through the outbox (once per revision of the report)."""
    from aftersales.messaging.services import customer_variables, message_enqueue

    from .report import report_link

    require(actor, "inspections.send_report")
    require_store(actor, inspection.store_id)
    at = at or timezone.now()
    with service_atomic():
        locked = _lock(inspection)
        if locked.status != InspectionStatus.COMPLETED:
            raise Conflict("inspection_not_completed", _("Complete the inspection before sending its report."), "status")
        order = RepairOrder.objects.select_related("customer", "vehicle", "store").get(pk=locked.order_id)
        counts = dict.fromkeys(Rating.values, 0)
        for rating in locked.items.values_list("rating", flat=True):
            counts[rating] = counts.get(rating, 0) + 1
        variables = {
            **customer_variables(customer=order.customer, store=order.store),
            "plate": order.vehicle.plate, "model": f"{order.vehicle.make} {order.vehicle.model}".strip(),
            "red": str(counts[Rating.RED]), "yellow": str(counts[Rating.YELLOW]), "link": report_link(locked),
        }
        message = message_enqueue(
            kind="inspection.report", store=order.store, customer=order.customer, variables=variables,
            dedup_key=f"inspection.report:{locked.pk}:{locked.revision}",
        )
        if locked.sent_revision != locked.revision:
            locked.report_sent_at, locked.report_sent_by, locked.sent_revision = at, actor, locked.revision
            locked.save(update_fields=["report_sent_at", "report_sent_by", "sent_revision"])
            audit.record(
                actor=actor, obj=locked, action="inspection.report_sent", store_id=locked.store_id,
                customer_id=order.customer_id, changes={"revision": [None, locked.revision]}, at=at,
            )
    return message


# ---- quality control --------------------------------------------------------------------------------------------
def qc_checklist(store_id: int, kind: str) -> Checklist | None:
    return (
        Checklist.objects.filter(store_id=store_id, purpose=kind, is_active=True).order_by("-is_default", "code").first()
    )


def _finished(order: RepairOrder) -> tuple[list[RepairJob], list[RepairJob]]:
    """(the order's approved jobs, those of them still being worked on): locked, and held for the nested job moves
    (common/db.py hold), which then neither lock nor read them again."""
    jobs = [hold(j) for j in RepairJob.objects.select_for_update(of=("self",)).filter(
        order=order, status__in=APPROVED_JOB_STATES,
    ).order_by("seq")]
    return jobs, [j for j in jobs if j.status not in FINISHED_JOB_STATES]


def qc_final_start(*, actor: Any, order: RepairOrder, at: dt.datetime | None = None) -> RepairOrder:
    """The QC inspector takes the car: the order moves to "quality check" (the customer sees it)."""
    from aftersales.workshop.services import repair_order_move

    from .selectors import qc_state

    require(actor, "inspections.sign_final_qc")
    require_store(actor, order.store_id)
    with service_atomic():
        locked = RepairOrder.objects.select_for_update().get(pk=order.pk)
        state = qc_state(locked)
        if not state.passed.get(ChecklistPurpose.PEER_CHECK):
            raise Conflict("checks_missing", _("The self-check and the peer check must pass first."), "kind")
        if locked.status != OrderStatus.QUALITY_CHECK:
            locked = repair_order_move(actor=actor, order=locked, to=OrderStatus.QUALITY_CHECK, reason=coded(gettext_noop("Final QC")), at=at)
    return locked


def qc_sign(
    *,
    actor: Any,
    order: RepairOrder,
    kind: str,
    results: list[dict[str, Any]],
    notes: str = "",
    rework_job_ids: list[int] | None = None,
    at: dt.datetime | None = None,
) -> QcCheck:
    """Sign a check of the order: pass/fail (or "not needed" for optional items) for every item of the store's
    checklist. A failed self, peer or final check sends the job(s) back as rework (counted) and the order back to
    in progress; a passed final QC moves the jobs to "passed QC", and the order is ready once cleaning passed too.

    ``results``: ``[{"item_id": <checklist item id>, "result": "pass"|"fail"|"na", "note": ""}]``.
    """
    from aftersales.workshop.services import repair_job_move, repair_order_move

    from .selectors import qc_state

    if kind not in QC_PURPOSES:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": kind}, "kind")
    require(actor, QC_PERMISSIONS[kind])
    require_store(actor, order.store_id)
    at = at or timezone.now()
    # The checklist (qc_checklist's choice) with its items and their groups in one query (issue 19); an empty
    # checklist, or none, is told apart by qc_checklist itself.
    first = Checklist.objects.filter(store_id=order.store_id, purpose=kind, is_active=True).order_by("-is_default", "code")
    template = list(
        ChecklistItem.objects.filter(checklist=Subquery(first.values("pk")[:1])).select_related("group", "checklist")
        .order_by("group__seq", "seq", "id")
    )
    checklist = template[0].checklist if template else qc_checklist(order.store_id, kind)
    if checklist is None:
        raise ValidationFailed("checklist_required", _("This store has no checklist for this check; a manager sets it up."), "kind")
    given: dict[int, tuple[int, dict[str, Any]]] = {}
    for n, row in enumerate(results or [], start=1):
        try:
            given[int(row.get("item_id") or "")] = (n, row)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("item_unknown", _("Unknown checklist item."), f"results[{n}].item_id") from exc
    unknown = set(given) - {i.pk for i in template}
    if unknown:
        n = given[min(unknown)][0]
        raise ValidationFailed("item_unknown", _("Unknown checklist item."), f"results[{n}].item_id")
    rows: list[QcCheckItem] = []
    failed_notes: list[str] = []
    for seq, item in enumerate(template, start=1):
        n, answer = given.get(item.pk, (0, {}))
        where = f"results[{n}]" if n else f"item[{item.pk}]"
        result = answer.get("result") or ""
        label = item.name_en if get_language() == "en" and item.name_en else item.name_zh
        if result not in QcResult.values:
            raise ValidationFailed("item_unanswered", _("Answer every item: “%(item)s”.") % {"item": label}, f"{where}.result")
        if result == QcResult.NOT_APPLICABLE and not item.optional:
            raise ValidationFailed("item_required", _("“%(item)s” cannot be skipped.") % {"item": label}, f"{where}.result")
        note = _text(answer.get("note"), 300)
        if result == QcResult.FAIL and not note:
            raise ValidationFailed("fail_note_required", _("Say what failed: “%(item)s”.") % {"item": label}, f"{where}.note")
        if result == QcResult.FAIL:
            failed_notes.append(f"{item.name_zh}: {note}")
        rows.append(QcCheckItem(
            seq=seq, group_zh=item.group.name_zh, group_en=item.group.name_en, name_zh=item.name_zh,
            name_en=item.name_en, result=result, note=note,
        ))
    passed = not failed_notes
    with service_atomic():
        # Locked once for the whole request: the nested order and job moves use this row (common/db.py hold).
        # (the caller's own when its scoped read was the lock: selectors.qc_order_get(lock=True))
        locked = order if held(order, "store", "customer", "vehicle", "advisor") else hold(
            RepairOrder.objects.select_for_update(of=("self",)).select_related("store", "customer", "vehicle", "advisor")
            .get(pk=order.pk))
        jobs, unfinished = _finished(locked)
        state = qc_state(locked, jobs, brief=True)
        for job in jobs:
            job.order = locked
        if kind == ChecklistPurpose.CLEANING:
            if locked.status not in (*QC_STATES, OrderStatus.AUTHORIZED):
                raise Conflict("order_not_in_work", _("Cleaning is signed while the car is in the workshop, before it is ready."), "order")
        else:
            if locked.status not in QC_STATES:
                raise Conflict("order_not_in_work", _("Quality checks are signed while the order is in progress or in quality check."), "order")
            if unfinished:
                raise Conflict(
                    "jobs_not_done", _("Job %(seq)s is not done yet: every job must be finished before the checks.") % {"seq": unfinished[0].seq},
                    "order",
                )
            if not any(j.status == JobStatus.DONE for j in jobs):
                raise Conflict("nothing_to_check", _("No finished job is waiting for a check."), "order")
            previous_of: dict[str, str] = {
                ChecklistPurpose.PEER_CHECK: ChecklistPurpose.SELF_CHECK, ChecklistPurpose.FINAL_QC: ChecklistPurpose.PEER_CHECK,
            }
            previous = previous_of.get(kind)
            if previous and not state.passed.get(previous):
                raise Conflict(
                    "previous_check_missing",
                    _("The %(check)s must pass first.") % {"check": ChecklistPurpose(previous).label}, "kind",
                )
            if state.passed.get(kind):
                raise Conflict("already_passed", _("This check has already passed in this round."), "kind")
            self_signer = state.signer.get(ChecklistPurpose.SELF_CHECK)
            if kind in (ChecklistPurpose.PEER_CHECK, ChecklistPurpose.FINAL_QC) and self_signer == actor.pk:
                raise Conflict("same_signer", _("Someone other than the technician who did the self-check must sign this."), "signed_by")
            if kind == ChecklistPurpose.FINAL_QC and locked.status == OrderStatus.WAITING_PARTS:
                raise Conflict("order_waiting_parts", _("The order is waiting for parts."), "order")
        rework_jobs: list[RepairJob] = []
        if not passed and kind != ChecklistPurpose.CLEANING:
            candidates = {j.pk: j for j in jobs if j.status in FINISHED_JOB_STATES}
            if rework_job_ids:
                for n, job_id in enumerate(rework_job_ids, start=1):
                    if int(job_id) not in candidates:
                        raise ValidationFailed("job_invalid", _("Pick finished jobs of this order."), f"rework_job_ids[{n}]")
                rework_jobs = [candidates[int(i)] for i in dict.fromkeys(rework_job_ids)]
            else:
                rework_jobs = [j for j in candidates.values() if j.status == JobStatus.DONE]
        try:  # no savepoint of its own: the refusal below rolls the whole service transaction back (issue 19)
            check = QcCheck.objects.create(
                store_id=locked.store_id, order=locked, kind=kind, cycle=state.cycle,
                result=QcResult.PASS if passed else QcResult.FAIL, checklist_name_zh=checklist.name_zh,
                checklist_name_en=checklist.name_en, notes=_text(notes, 2000), signed_by=actor, signed_at=at,
            )
        except IntegrityError as exc:  # a concurrent pass of the same check in the same round
            raise Conflict("already_passed", _("This check has already passed in this round."), "kind") from exc
        for check_item in rows:
            check_item.qc_check = check
        QcCheckItem.objects.bulk_create(rows)
        check.signed_by = actor
        # The response is built from what is in memory: the items as if prefetched (no read back).
        items = QcCheckItem.objects.filter(qc_check=check)
        items._result_cache, items._prefetch_done = list(rows), True  # type: ignore[attr-defined]
        check._prefetched_objects_cache = {"items": items}  # type: ignore[attr-defined]
        reason = "; ".join(failed_notes)[:300]
        if rework_jobs:
            for job in rework_jobs:
                repair_job_move(actor=actor, job=job, to=JobStatus.REWORK, reason=reason, at=at)
                Rework.objects.create(
                    store_id=locked.store_id, order=locked, job=job, qc_check=check, technician_id=job.technician_id,
                    reason=reason or str(ChecklistPurpose(kind).label), at=at,
                )
            if locked.status in (OrderStatus.QUALITY_CHECK, OrderStatus.READY):
                locked = repair_order_move(actor=actor, order=locked, to=OrderStatus.IN_PROGRESS, reason=reason, at=at)
        if passed and kind == ChecklistPurpose.FINAL_QC:
            if locked.status != OrderStatus.QUALITY_CHECK:
                locked = repair_order_move(actor=actor, order=locked, to=OrderStatus.QUALITY_CHECK, reason=coded(gettext_noop("Final QC")), at=at)
            for job in jobs:
                if job.status == JobStatus.DONE:
                    repair_job_move(actor=actor, job=job, to=JobStatus.PASSED_QC, reason=coded(gettext_noop("Final QC passed")), at=at)
                    state.jobs_done, state.jobs_passed = state.jobs_done - 1, state.jobs_passed + 1
        if passed and kind in (ChecklistPurpose.FINAL_QC, ChecklistPurpose.CLEANING):
            # The QC state once per request: the one read under the lock above, brought up to date with this check.
            if kind == ChecklistPurpose.CLEANING:
                state.cleaning_passed = True
            else:
                state.passed[kind], state.signer[kind] = True, actor.pk
            _ready_if_everything_passed(actor=actor, order=locked, at=at, state=state)
        audit.record(
            actor=actor, obj=locked, action=f"qc.{kind}.{check.result}", store_id=locked.store_id,
            customer_id=locked.customer_id, reason=reason, at=at,
            changes={"rework": [None, [j.pk for j in rework_jobs]]} if rework_jobs else {"result": [None, check.result]},
        )
    return check


def _ready_if_everything_passed(*, actor: Any, order: RepairOrder, at: dt.datetime, state: Any) -> None:
    """``order``: the locked row as it stands now (status current); ``state``: its QC state after this check."""
    from aftersales.workshop.services import repair_order_move

    if order.status == OrderStatus.QUALITY_CHECK and state.everything_passed:
        repair_order_move(actor=actor, order=order, to=OrderStatus.READY, reason=coded(gettext_noop("Quality checks and cleaning passed")), at=at)
