"""Erasing one customer's personal data across the whole database and the upload folder (PIPL art. 47).

Used by ``services.deletion_apply`` inside its transaction. What it does, in order:

1. **Files**: every uploaded file (photos, signatures, scans) of a record that belongs to the person (a record with a
   foreign key to the customer, or one step further: the order, case, appointment, … of the customer) is deleted from
   storage; a file the record cannot do without deletes the record (a photo row), an optional one is emptied
   (a signature).
2. **Linked records**: every text of every record that belongs to the person (same paths), JSON included, has the
   person's name, mobile (in both spellings), e-mail, address, WeChat ID and plates replaced by the pseudonym / a
   mask. The free text the person wrote about themselves (survey suggestions) is emptied.
3. **Everywhere**: the identifiers that are the person's alone (mobile, e-mail, WeChat ID, plates of the cars they
   own) are masked in every text column of every table (another customer called 张伟 keeps their name: a name is only
   replaced where the record belongs to the person).
4. The cars they own keep their VIN (recalls, warranty) and lose the plate.

Invoices, payments and repair orders stay (the law's retention) and still point at the customer row, which now
carries only the pseudonym ("pseudonymised link").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast

MASK = "***"

#: models a path to the customer never goes through (shared between people, or staff)
_NOT_THROUGH = {"vehicles.vehicle", "stores.store", "stores.dealergroup", "staff.user", "auth.user",
                "contenttypes.contenttype", "customers.customer"}
#: free text the person wrote about themselves, emptied outright on their own records
_EMPTIED = {("feedback", "followup", "suggestions")}


def _customer_paths(model: type[models.Model], depth: int = 3) -> list[str]:
    """The lookups from ``model`` to ``customers.Customer`` through foreign keys (``customer``, ``order__customer``,
    ``case__order__customer``…), at most ``depth`` steps, never through a shared record (the car, the store, a user)."""
    customer = apps.get_model("customers", "Customer")
    paths: list[str] = []

    def walk(current: type[models.Model], prefix: str, left: int) -> None:
        for field in current._meta.get_fields():
            if not (field.is_relation and (field.many_to_one or field.one_to_one) and field.concrete):
                continue
            target = field.related_model
            if target is None or isinstance(target, str):
                continue
            if target is customer:
                paths.append(f"{prefix}{field.name}")
            elif left > 1 and target._meta.label_lower not in _NOT_THROUGH:
                walk(target, f"{prefix}{field.name}__", left - 1)

    walk(model, "", depth)
    return paths


def _owned_filter(model: type[models.Model], person: Any) -> Q | None:
    if model._meta.label_lower == "customers.customer":
        return Q(pk=person.pk)
    if model._meta.label_lower == "admin.logentry":  # the admin's own log names the customer it changed
        return Q(content_type__app_label="customers", content_type__model="customer", object_id=str(person.pk))
    paths = _customer_paths(model)
    by_mobile = _BY_CONTACT_MOBILE.get(model._meta.label_lower)
    if not paths and by_mobile is None:
        return None
    q = Q()
    for path in paths:
        q |= Q(**{path: person.pk})
    if by_mobile is not None:  # a complaint sent before the sender was a known customer (not linked): their mobile
        mobiles = _mobiles(person)
        if mobiles:
            q |= Q(**{f"{by_mobile}__in": mobiles})
    return q


#: records that are the person's through the contact mobile they gave, when not linked to the customer row (a
#: complaint or suggestion sent through the public intake, and its photos)
_BY_CONTACT_MOBILE = {"feedback.feedbackcase": "contact_mobile", "feedback.casephoto": "case__contact_mobile"}


def _mobiles(person: Any) -> list[str]:
    """The person's mobile in both spellings (+8613… and 13…)."""
    mobile = person.mobile or ""
    national = mobile[3:] if mobile.startswith("+86") else mobile.lstrip("+")
    return [m for m in {mobile, national} if m and len(m) >= 7]


def _text_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField)) and not f.primary_key
            and not isinstance(f, models.FileField)]


def _needle_q(field: models.Field, needles: Iterable[str]) -> Q:
    q = Q()
    for needle in needles:
        if isinstance(field, models.JSONField):
            escaped = json.dumps(needle)[1:-1]  # what a JSON column holds for it (\uXXXX on SQLite)
            q |= Q(**{f"_erase_{field.attname}__contains": needle})
            if escaped != needle:
                q |= Q(**{f"_erase_{field.attname}__contains": escaped})
        else:
            q |= Q(**{f"{field.attname}__contains": needle})
    return q


def _replace(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for needle, by in pairs:
            value = value.replace(needle, by)
        return value
    if isinstance(value, list):
        return [_replace(v, pairs) for v in value]
    if isinstance(value, dict):
        return {_replace(k, pairs): _replace(v, pairs) for k, v in value.items()}
    return value


def _scrub(qs: models.QuerySet[Any], pairs: list[tuple[str, str]], *, emptied: Iterable[str] = (),
           carried: tuple[list[str], list[tuple[str, str]]] = ([], [])) -> int:
    """Replace the needles of ``pairs`` in every text column of the rows of ``qs`` (one query to find them, one update
    per changed row; ``save()`` is not called, so no timestamps move and no signals fire). ``carried``: a row holding
    one of these needles (the person's mobile) is the person's, so these pairs (their name) apply to it too."""
    model = qs.model
    fields = _text_fields(model)
    if not fields or not pairs:
        return 0
    needles = [n for n, _by in pairs]
    json_fields = [f for f in fields if isinstance(f, models.JSONField)]
    if json_fields:
        qs = qs.annotate(**{f"_erase_{f.attname}": Cast(f.attname, models.TextField()) for f in json_fields})
    match = Q()
    for field in fields:
        match |= _needle_q(field, needles)
    emptied = set(emptied)
    changed = 0
    triggers, extra = carried
    for row in qs.filter(match).values("pk", *[f.attname for f in fields]).iterator():
        updates: dict[str, Any] = {}
        text = json.dumps([row[f.attname] for f in fields], ensure_ascii=False, default=str)
        row_pairs = pairs + extra if any(t in text for t in triggers) else pairs
        for field in fields:
            before = row[field.attname]
            if before in (None, "", [], {}):
                continue
            after = "" if field.name in emptied else _replace(before, row_pairs)
            if after != before:
                if isinstance(field, (models.CharField,)) and field.max_length and isinstance(after, str):
                    after = after[: field.max_length]
                updates[field.attname] = after
        if updates:
            model._base_manager.filter(pk=row["pk"]).update(**updates)
            changed += 1
    return changed


def _delete_files(person: Any, storage_files: list[str]) -> int:
    """Delete the uploaded files of every record of the person; collect the names for ``storage_files``."""
    count = 0
    for model in apps.get_models():
        file_fields = [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        if not file_fields:
            continue
        owned = _owned_filter(model, person)
        if owned is None:
            continue
        for obj in model._base_manager.filter(owned):
            required = False
            for field in file_fields:
                value = getattr(obj, field.attname)
                if not value:
                    continue
                storage_files.append(str(value.name))
                value.storage.delete(value.name)
                count += 1
                if field.blank:
                    model._base_manager.filter(pk=obj.pk).update(**{field.attname: ""})
                else:
                    required = True
            if required:
                model._base_manager.filter(pk=obj.pk).delete()
    return count


def erase(person: Any, *, pseudonym: str) -> dict[str, int]:
    """Erase ``person`` (a locked ``Customer`` row, still carrying its personal fields) everywhere; returns counts.
    The caller then blanks the customer's own fields."""
    from aftersales.vehicles.models import Vehicle

    plates = [p for p in Vehicle.objects.filter(owner=person).values_list("plate", flat=True) if p and len(p) >= 5]
    mobiles = _mobiles(person)
    unique = [(m, MASK) for m in sorted(mobiles, key=len, reverse=True)]
    unique += [(v, MASK) for v in (person.email, person.wechat_openid) if v and len(v) >= 5]
    unique += [(p, MASK) for p in plates]
    linked = list(unique)
    named = [(person.name, pseudonym)] if person.name and len(person.name.strip()) >= 2 else []
    linked += named
    if person.address and len(person.address) >= 5:
        linked.append((person.address, MASK))
    files: list[str] = []
    counts = {"files": _delete_files(person, files), "linked_rows": 0, "other_rows": 0}
    for model in apps.get_models():
        if model._meta.label_lower == "customers.customer":  # the person's own row: the caller blanks it
            counts["other_rows"] += _scrub(model._base_manager.exclude(pk=person.pk), unique)
            continue
        owned = _owned_filter(model, person)
        if owned is not None:
            emptied = [name for (app, m, name) in _EMPTIED if (app, m) == (model._meta.app_label, model._meta.model_name)]
            if emptied:
                model._base_manager.filter(owned).update(**dict.fromkeys(emptied, ""))
            counts["linked_rows"] += _scrub(model._base_manager.filter(owned), linked)
            counts["other_rows"] += _scrub(model._base_manager.exclude(owned), unique, carried=(mobiles, named))
        else:
            counts["other_rows"] += _scrub(model._base_manager.all(), unique, carried=(mobiles, named))
    Vehicle.objects.filter(owner=person).update(plate="")
    return counts
