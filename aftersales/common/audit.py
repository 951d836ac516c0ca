"""Writing the audit trail (services call :func:`record` inside their transaction) and naming what its rows point
to when read (:func:`prefetch_audit_names`, used by the pages that show a trail)."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from .db import defer_insert
from .models import AuditEvent
from .readtime import is_coded, stored

#: The choices that name the parts of an audit key "<kind>.<value>.<value>" (``"consent.marketing.sms"``: the purpose,
#: the channel) in the audit trail, provided at start by the app that writes such keys (customers,
#: ``CustomersConfig.ready``; issue 19: common imports no app above it).
AUDIT_KEY_CHOICES: dict[str, tuple[type[models.Choices], ...]] = {}


def provide_audit_key_choices(kind: str, *choices: type[models.Choices]) -> None:
    AUDIT_KEY_CHOICES[kind] = choices


def plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The values of ``fields`` on ``obj`` (foreign keys as ids), for before/after comparisons."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = plain(getattr(obj, attname))
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    keys = list(dict.fromkeys([*before, *after]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def update_locked(model: type[models.Model], pk: Any, fields: dict[str, Any], audited: Iterable[str]) -> tuple[Any, dict[str, list[Any]]]:
    """Lock the row, apply ``fields``, save if anything audited changed; return the row and its changes.

    The caller holds the transaction and records the audit event (with its own action and links).
    """
    audited = tuple(audited)
    locked = model._default_manager.select_for_update().get(pk=pk)
    before = snapshot(locked, audited)
    for key, value in fields.items():
        setattr(locked, key, value)
    changes = diff(before, snapshot(locked, audited))
    if changes:
        locked.save()
    return locked, changes


def record(
    *,
    actor: Any,
    obj: models.Model,
    action: str,
    changes: dict[str, list[Any]] | None = None,
    reason: str = "",
    store_id: int | None = None,
    customer_id: int | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Write one audit row; ``at`` is for recording past events (imports, history), otherwise now. Inside a service
    transaction the row is written with the block's other audit rows, one INSERT before COMMIT (common/db.py)."""
    return defer_insert(AuditEvent(
        at=at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        store_id=store_id,
        customer_id=customer_id,
        changes=changes or {},
        reason=stored(reason) if is_coded(reason) else str(reason)[:500],
    ))


# ---- reading the trail --------------------------------------------------------------------------------------------

def audit_model(event: Any) -> Any:
    try:  # get_for_id is cached: no query per row of the audit trail
        return ContentType.objects.get_for_id(event.content_type_id).model_class()
    except Exception:
        return None


def related_names(model: Any, field: Any, values: list[Any], known: dict[Any, str] | None = None) -> dict[Any, str]:
    """{id: name} of the records a foreign key of an audit change pointed to: from ``known`` (filled for a whole
    list of events by :func:`prefetch_audit_names`, one query per related model) or one query for this row."""
    ids = [v for v in values if isinstance(v, int | str) and str(v).isdigit()]
    if not ids:
        return {}
    related = field.related_model
    if known is not None:
        return {int(i): known[(related._meta.label, int(i))] for i in ids if (related._meta.label, int(i)) in known}
    try:
        return {row.pk: str(row) for row in related._default_manager.filter(pk__in=ids)}
    except Exception:  # a record since deleted or a model that cannot be read here: the id stays
        return {}


def prefetch_audit_names(events: list[Any]) -> list[Any]:
    """Name the records every foreign key in these events' changes points to, with one query per related model
    whatever the number of events (the customer 360 page keeps a fixed query count)."""
    wanted: dict[Any, set[int]] = {}
    for event in events:
        model = audit_model(event)
        if model is None:
            continue
        for key, pair in (event.changes or {}).items():
            try:
                field = model._meta.get_field(key)
            except Exception:  # noqa: S112 - a key that is not a field (a derived figure) names nothing
                continue
            if getattr(field, "many_to_one", False) and field.related_model is not None:
                values = pair if isinstance(pair, list) else [pair]
                wanted.setdefault(field.related_model, set()).update(int(v) for v in values if str(v).isdigit())
    known: dict[Any, str] = {}
    for related, ids in wanted.items():
        if not ids:
            continue
        try:
            known.update({(related._meta.label, row.pk): str(row) for row in related._default_manager.filter(pk__in=ids)})
        except Exception:  # noqa: S112 - a model that cannot be read here: the ids stay
            continue
    for event in events:
        event._audit_names = known
    return events
