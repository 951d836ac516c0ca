"""Writing the audit trail. Services call :func:`record` inside their transaction."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from .models import AuditEvent
from .readtime import is_coded, stored


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
    """Write one audit row; ``at`` is for recording past events (imports, history), otherwise now."""
    return AuditEvent.objects.create(
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
    )
