"""Template filters shared by the staff screens."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.text import capfirst
from django.utils.translation import pgettext, pgettext_lazy

from aftersales.common import audit as _audit
from aftersales.common import names
from aftersales.common.audit import audit_model as _audit_model
from aftersales.common.audit import prefetch_audit_names  # noqa: F401 - kept importable from here for templates' users
from aftersales.common.audit import related_names as _related_names
from aftersales.common.validators import display_mobile, mask_mobile

register = template.Library()


@register.filter
def phone_for(e164: str, user: Any) -> str:
    """The number as this user may see it: in full with customers.view_full_mobile, else 138****1234."""
    if user is not None and user.has_perm("customers.view_full_mobile"):
        return display_mobile(e164 or "")
    return mask_mobile(e164 or "")


def phone_for_user(user: Any, e164: str) -> str:
    """:func:`phone_for` for Python callers (views of any app): the user first."""
    return phone_for(e164, user)


def _choices_label(obj: Any, value: Any, fields: tuple[str, ...] | None = None) -> str | None:
    """The label of ``value`` among the choices of ``obj``'s fields (those named, else every field with choices)."""
    meta = getattr(obj, "_meta", None)
    if meta is None or value in (None, ""):
        return None
    for field in meta.concrete_fields:
        if field.choices and (fields is None or field.name in fields):
            for code, label in field.flatchoices:
                if code == value:
                    return str(label)
    return None


@register.filter
def state_label(value: Any, obj: Any) -> str:
    """A state of ``obj`` as its people say it ("已预约", not "booked"); an empty state is "–" (the start)."""
    if value in (None, ""):
        return "–"
    return _choices_label(obj, value, ("status", "state")) or _choices_label(obj, value) or str(value)


@register.filter
def choice_label(value: Any, obj: Any) -> Any:
    """``value`` as the label of one of ``obj``'s choices when it is one (an event's reason "walk_in" → "到店"),
    else unchanged (a reason a person wrote)."""
    return _choices_label(obj, value) or value


#: the verbs of audit actions ("customer.created", "repair_order.delivery_recorded"), as a service department says them
AUDIT_VERBS = {
    "created": pgettext_lazy("audit", "created"),
    "updated": pgettext_lazy("audit", "changed"),
    "changed": pgettext_lazy("audit", "changed"),
    "saved": pgettext_lazy("audit", "saved"),
    "deleted": pgettext_lazy("audit", "deleted"),
    "merged": pgettext_lazy("audit", "merged"),
    "exported": pgettext_lazy("audit", "exported"),
    "withdrawn": pgettext_lazy("audit", "withdrawn"),
    "granted": pgettext_lazy("audit", "granted"),
    "revoked": pgettext_lazy("audit", "revoked"),
    "store_linked": pgettext_lazy("audit", "linked to a store"),
    "issued": pgettext_lazy("audit", "issued"),
    "transferred": pgettext_lazy("audit", "transferred"),
    "cancelled": pgettext_lazy("audit", "cancelled"),
    "assigned": pgettext_lazy("audit", "assigned"),
    "returned": pgettext_lazy("audit", "returned"),
    "opened": pgettext_lazy("audit", "opened"),
    "note": pgettext_lazy("audit", "note added"),
    "mileage": pgettext_lazy("audit", "mileage recorded"),
    "mileage_corrected": pgettext_lazy("audit", "mileage corrected"),
    "done": pgettext_lazy("audit", "done"),
    "delivered": pgettext_lazy("audit", "delivered"),
    "delivery_recorded": pgettext_lazy("audit", "delivery recorded"),
    "checked_in": pgettext_lazy("audit", "checked in"),
    "booked": pgettext_lazy("audit", "booked"),
    "rescheduled": pgettext_lazy("audit", "rescheduled"),
    "arrived": pgettext_lazy("audit", "arrived"),
    "no_show": pgettext_lazy("audit", "no-show"),
    "started": pgettext_lazy("audit", "started"),
    "completed": pgettext_lazy("audit", "completed"),
    "payment": pgettext_lazy("audit", "payment recorded"),
    "refund": pgettext_lazy("audit", "refunded"),
    "credit_note": pgettext_lazy("audit", "credit note issued"),
    "signed": pgettext_lazy("audit", "signed"),
    "link_sent": pgettext_lazy("audit", "link sent"),
    "report_sent": pgettext_lazy("audit", "report sent"),
    "sent": pgettext_lazy("audit", "sent"),
    "earned": pgettext_lazy("audit", "points earned"),
    "redeemed": pgettext_lazy("audit", "redeemed"),
    "gift": pgettext_lazy("audit", "gift redeemed"),
    "adjusted": pgettext_lazy("audit", "adjusted"),
    "rewarded": pgettext_lazy("audit", "rewarded"),
    "answered": pgettext_lazy("audit", "answered"),
    "reopened": pgettext_lazy("audit", "reopened"),
    "relabelled": pgettext_lazy("audit", "category corrected"),
    "paused": pgettext_lazy("audit", "paused"),
    "resumed": pgettext_lazy("audit", "resumed"),
    "contact": pgettext_lazy("audit", "customer contacted"),
    "decided": pgettext_lazy("audit", "decided"),
    "jobs_proposed": pgettext_lazy("audit", "jobs proposed"),
    "job_added": pgettext_lazy("audit", "job added"),
    "additional_work": pgettext_lazy("audit", "additional work proposed"),
    "silent_flagged": pgettext_lazy("audit", "no progress update flagged"),
    "dedicated_advisor": pgettext_lazy("audit", "dedicated advisor set"),
    "activated": pgettext_lazy("audit", "activated"),
    "deactivated": pgettext_lazy("audit", "deactivated"),
    "taken_back": pgettext_lazy("audit", "taken back"),
    "part_issued": pgettext_lazy("audit", "part issued"),
    "part_returned": pgettext_lazy("audit", "part returned"),
    "closed": pgettext_lazy("audit", "closed"),
    "expired": pgettext_lazy("audit", "expired"),
    "authorized": pgettext_lazy("audit", "approved by the customer"),
    "dispatched": pgettext_lazy("audit", "dispatched"),
    "estimate_sent": pgettext_lazy("audit", "estimate sent"),
    "item": pgettext_lazy("audit", "item recorded"),
    "called": pgettext_lazy("audit", "called"),
    "moved": pgettext_lazy("audit", "status changed"),
    "quality_check": pgettext_lazy("audit", "quality check"),
    "passed_qc": pgettext_lazy("audit", "passed quality check"),
    "set": pgettext_lazy("audit", "set"),
    "unreached": pgettext_lazy("audit", "not reached"),
}

#: the entries of audit changes that are not fields of the object (derived figures, related records)
AUDIT_FIELDS = {
    "points_balance": pgettext_lazy("audit field", "Points balance"),
    "next_service": pgettext_lazy("audit field", "Next service"),
    "silent_minutes": pgettext_lazy("audit field", "Minutes without an update"),
    "points_taken_back": pgettext_lazy("audit field", "Points taken back"),
    "points_due_back": pgettext_lazy("audit field", "Points due back"),
    "approved_total": pgettext_lazy("audit field", "Approved total"),
    "declined_total": pgettext_lazy("audit field", "Declined total"),
    "attitude": pgettext_lazy("audit field", "Service attitude"),
    "quality": pgettext_lazy("audit field", "Repair quality"),
    "waiting": pgettext_lazy("audit field", "Waiting time"),
    "price": pgettext_lazy("audit field", "Price"),
    "recommend": pgettext_lazy("audit field", "Would recommend"),
    "result": pgettext_lazy("audit field", "Result"),
    "public": pgettext_lazy("audit field", "Shown to the customer"),
    "damage": pgettext_lazy("audit field", "Damage"),
    "estimate": pgettext_lazy("audit field", "Estimate"),
    "jobs": pgettext_lazy("audit field", "Jobs"),
}
_JOB_KEY = re.compile(r"^job (\d+)( status)?$")
_ITEM_KEY = re.compile(r"^(\d+)\.(\w+)$")
_LINE_KEEP_KEY = re.compile(r"^line (\d+) keep old part$")  # workshop: the customer keeps a line's old part
_JOB_PART_KEY = re.compile(r"^job (\d+) (\S+)( billed)?$")  # parts issued to / returned from a job


def _choice_label(choices: Any, value: str) -> str | None:
    return next((str(label) for v, label in choices.choices if v == value), None)


def _audit_field_name(key: str) -> str:
    if key in AUDIT_FIELDS:
        return str(AUDIT_FIELDS[key])
    if key.startswith("consent.") and key.count(".") == 2 and len(_audit.AUDIT_KEY_CHOICES.get("consent", ())) == 2:
        _c, purpose, channel = key.split(".")
        purposes, channels = _audit.AUDIT_KEY_CHOICES["consent"]
        what = [_choice_label(purposes, purpose) or purpose, _choice_label(channels, channel) or channel]
        return pgettext("audit field", "Consent (%(what)s)") % {"what": " / ".join(what)}
    job = _JOB_KEY.match(key)
    if job:
        return (pgettext("audit field", "Job %(n)s status") if job.group(2) else pgettext("audit field", "Job %(n)s")) % {"n": job.group(1)}
    part = _JOB_PART_KEY.match(key)
    if part:
        text = (pgettext("audit field", "Job %(n)s, part %(part)s billed") if part.group(3)
                else pgettext("audit field", "Job %(n)s, part %(part)s"))
        return text % {"n": part.group(1), "part": part.group(2)}
    item = _ITEM_KEY.match(key)
    if item:
        return pgettext("audit field", "Checklist item %(n)s") % {"n": item.group(1)}
    keep = _LINE_KEEP_KEY.match(key)
    if keep:
        return pgettext("audit field", "Line %(n)s: old part kept for the customer") % {"n": keep.group(1)}
    return key


@register.filter
def audit_action(event: Any) -> str:
    """"客户：已创建" for "customer.created": the object's kind and what happened, never the action code."""
    model = _audit_model(event)
    entity = capfirst(str(model._meta.verbose_name)) if model is not None else ""
    parts = str(event.action).split(".")
    verb = parts[1] if len(parts) > 1 else parts[0]
    label = AUDIT_VERBS.get(verb)
    if label is None and model is not None:
        label = _choices_label(model, verb, ("status", "state")) or _choices_label(model, parts[-1], ("status", "state"))
    text = str(label if label is not None else pgettext("audit", "changed"))
    name = _audit_object_name(event)
    if entity and name:  # "工单 RO-GZ-2612-0042：已交车", "客户 张三：已修改"
        return pgettext("audit action", "%(object)s %(name)s: %(action)s") % {"object": entity, "name": name, "action": text}
    return pgettext("audit action", "%(object)s: %(action)s") % {"object": entity, "action": text} if entity else capfirst(text)


#: the records whose name (``str``) is what people call them: an order's or invoice's number, a customer's name, a
#: car's plate; other records' ``str`` holds ids and codes, and the trail names only their kind
AUDIT_NAMED = {"customers.customer", "workshop.repairorder", "vehicles.vehicle", "billing.invoice", "billing.creditnote",
               "parts.part", "parts.supplier", "staff.user", "stores.store", "workshop.repairjob"}


def _audit_object_name(event: Any) -> str:
    """What the audited object was called when it changed (an order's number, a customer's name), in the reader's
    language when written in both; nothing when only an id was recorded."""
    model = _audit_model(event)
    if model is None or model._meta.label_lower not in AUDIT_NAMED:
        return ""
    text = names.one_language(getattr(event, "object_repr", "") or "").strip()
    if not re.search(r"[A-Za-z\u3400-\u9fff]", text) or len(text) > 60:  # ids only ("5@1", "3:4 2026-01-01–")
        return ""
    return text


def _yes_no(value: Any) -> Any:
    if value is True:
        return pgettext("audit value", "yes")
    if value is False:
        return pgettext("audit value", "no")
    return value


@register.filter
def audit_changes(event: Any) -> list[tuple[str, Any, Any]]:
    """The changes of an audit event as (field's name in the reader's language, before, after), choice values as
    their labels."""
    model = _audit_model(event)
    rows: list[tuple[str, Any, Any]] = []
    for key, pair in (event.changes or {}).items():
        before, after = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        name = _audit_field_name(str(key))
        if model is not None and name == str(key):
            try:
                field = model._meta.get_field(key)
            except Exception:
                field = None
            if field is not None:
                name = capfirst(str(getattr(field, "verbose_name", key)))
                if getattr(field, "many_to_one", False) and field.related_model is not None:  # ids as names
                    known = _related_names(model, field, [before, after], getattr(event, "_audit_names", None))
                    before = known.get(int(before), before) if str(before).isdigit() else before
                    after = known.get(int(after), after) if str(after).isdigit() else after
                if getattr(field, "choices", None):
                    labels = {code: str(label) for code, label in field.flatchoices}
                    before, after = labels.get(before, before), labels.get(after, after)
        rows.append((name, code_label(_yes_no(before)), code_label(_yes_no(after))))
    return rows


@register.filter
def reference_number(reference: str) -> str:
    """"#42" for a reference written "appointment:42" (the kind is shown beside it by its label)."""
    text = str(reference or "")
    return f"#{text.rsplit(':', 1)[1]}" if ":" in text else text


@register.filter
def localized(obj: Any, field: str = "name") -> str:
    """``obj.<field>_en`` when the reader reads English and it is filled in, else ``obj.<field>_zh``: a part's or a
    checklist's name in the reader's language ({{ part|localized:"name" }})."""
    from django.utils.translation import get_language

    english = (get_language() or "").startswith("en")
    zh = getattr(obj, f"{field}_zh", "") or ""
    en = getattr(obj, f"{field}_en", "") or ""
    return en if english and en else zh


@register.filter
def one_language(text: Any) -> str:
    """A name written in both languages ("全车检测 / Vehicle inspection") in the reader's language only."""
    from django.utils.translation import get_language

    from aftersales.common.text import localized_name

    return localized_name(str(text or ""), get_language() or "zh-hans")


_CODE_LABELS: dict[str, Any] = {}
_ANY_LABELS: dict[str, Any] = {}  # also the values with two labels (the first one found), for a "kind/source" pair


def _code_labels() -> dict[str, Any]:
    """Every choice value of the project's models → its (lazy) label, for values stored without their field (an
    audit reason "in_store", a list of codes ["ac_on"]); a value with two different labels is left out."""
    if not _CODE_LABELS:
        from django.apps import apps

        seen: dict[str, Any] = {}
        clash: set[str] = set()
        for model in apps.get_models():
            if not model.__module__.startswith("aftersales."):
                continue
            for field in model._meta.concrete_fields:
                for code, label in field.flatchoices if field.choices else ():
                    if not isinstance(code, str) or not code:
                        continue
                    if code in seen and str(seen[code]) != str(label):
                        clash.add(code)
                    seen.setdefault(code, label)
        _CODE_LABELS.update({code: label for code, label in seen.items() if code not in clash})
        _ANY_LABELS.update(seen)
    return _CODE_LABELS


@register.filter
def code_label(value: Any) -> Any:
    """A stored code shown in words ("in_store" → "到店", ["ac_on", "abs"] → "空调开启, ABS"); other text unchanged."""
    if isinstance(value, list):
        return ", ".join(str(code_label(v)) for v in value) if value else value
    if isinstance(value, str) and value in _code_labels():
        return str(_code_labels()[value])
    pair = _CODE_PAIR.match(value) if isinstance(value, str) else None
    if pair and pair.group(1) in _ANY_LABELS and pair.group(2) in _ANY_LABELS:  # "earn/review +50": kind/source
        return f"{_ANY_LABELS[pair.group(1)]} · {_ANY_LABELS[pair.group(2)]}{pair.group(3) or ''}"
    return value


_CODE_PAIR = re.compile(r"^([a-z_]+)/([a-z_]+)(\s.*)?$", re.S)



# names in the reader's language (the logic lives in common.names, for selectors too)
register.filter("guide_name", names.guide_name)
register.filter("option_label", names.option_label)
register.filter("job_title", names.job_title)
register.filter("line_text", names.line_text)


@register.filter
def masked_secret(value: Any) -> str:
    """A stored secret as a screen may show it: never in full (common.crypto.mask)."""
    from aftersales.common.crypto import mask

    return mask(value)


@register.filter
def lang_of(text: Any) -> str:
    """The language of a text kept as it came (an imported visit's items): for ``lang="…"`` on its element, so that
    readers and screen readers know it is Chinese on an English page (and the language walk reads it as such)."""
    from aftersales.common.text import has_cjk

    return "zh-Hans" if has_cjk(str(text or "")) else "en"
