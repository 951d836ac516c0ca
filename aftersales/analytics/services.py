"""The cockpit's writes: a store's targets and the manager's monthly gross-profit import."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import ValidationFailed
from aftersales.common.permissions import require
from aftersales.common.scoping import visible_store_ids

from .importers import Row
from .models import GrossProfitMonth


def gross_profit_check(*, actor: Any, rows: list[Row]) -> list[dict[str, Any]]:
    """Row errors beyond the file's own: unknown or foreign stores, a store and month twice in the file."""
    from aftersales.stores.models import Store

    stores = {s.code: s for s in Store.objects.filter(pk__in=visible_store_ids(actor))}
    errors: list[dict[str, Any]] = []
    seen: dict[tuple[str, Any], int] = {}
    for row in rows:
        if row.store_code and row.store_code not in stores:
            errors.append({"line": row.line, "field": "store", "message": _("No store of yours has the code %(code)s.") % {"code": row.store_code}})
        key = (row.store_code, row.month)
        if row.month is not None and key in seen:
            errors.append({"line": row.line, "field": "month", "message": _("Same store and month as row %(n)s.") % {"n": seen[key]}})
        seen.setdefault(key, row.line)
    return errors


def gross_profit_import(*, actor: Any, rows: list[Row], source: str = "", now: dt.datetime | None = None,
                        skip_unchanged: bool = False) -> int:
    """Write every row (a store's month imported again is replaced), all or nothing, with an audit row each; with
    ``skip_unchanged`` a month whose figures are already those is left alone (no write, no audit row). Returns the
    rows written."""
    require(actor, "analytics.add_grossprofitmonth")
    from aftersales.stores.models import Store

    errors = gross_profit_check(actor=actor, rows=rows)
    if errors or any(r.month is None or r.new_car is None or r.other is None for r in rows):
        first = errors[0] if errors else {"field": "file", "message": _("The file has errors.")}
        raise ValidationFailed("import_invalid", first["message"], first["field"])
    if not rows:
        raise ValidationFailed("import_empty", _("The file is empty."), "file")
    now = now or timezone.now()
    stores = {s.code: s for s in Store.objects.filter(pk__in=visible_store_ids(actor))}
    written = 0
    with transaction.atomic():
        for row in rows:
            store = stores[row.store_code]
            assert row.month is not None and row.new_car is not None and row.other is not None
            if skip_unchanged:
                old = GrossProfitMonth.objects.select_for_update().filter(store=store, month=row.month).first()
                if old is not None and (old.new_car, old.other) == (row.new_car, row.other):
                    continue
            written += 1
            obj, _created = GrossProfitMonth.objects.update_or_create(
                store=store, month=row.month,
                defaults={"new_car": row.new_car, "other": row.other, "source": source[:120], "imported_at": now, "imported_by": actor},
            )
            audit.record(actor=actor, obj=obj, action="analytics.gross_profit_imported", store_id=store.pk,
                         changes={"new_car": [None, str(row.new_car)], "other": [None, str(row.other)]}, at=now)
    return written


TARGET_FIELDS = (
    "csat_target", "nps_target", "repurchase_target", "churn_target", "winback_target", "first_service_target", "waiting_target",
    "waiting_cut_target", "waiting_baseline", "profit_share_target", "accuracy_target", "progress_target", "labour_cost_per_hour",
)


def kpi_settings_update(*, actor: Any, store: Any, values: dict[str, Any]) -> Any:
    """Change a store's targets (validated by the model's own ranges); one transaction and an audit row."""
    from django.core.exceptions import ValidationError

    from aftersales.common.permissions import require_store

    from .models import KpiSettings

    require(actor, "analytics.change_kpisettings")
    require_store(actor, store.pk)
    with transaction.atomic():
        settings, _created = KpiSettings.objects.select_for_update().get_or_create(store=store)
        before = {f: getattr(settings, f) for f in TARGET_FIELDS}
        for name in TARGET_FIELDS:
            if name in values:
                setattr(settings, name, values[name])
        try:
            settings.full_clean(exclude=["store", "updated_by"])
        except ValidationError as exc:
            name, messages = next(iter(exc.message_dict.items()))
            raise ValidationFailed("invalid_target", messages[0], name) from exc
        settings.updated_by = actor
        settings.save()
        changes = {f: [str(before[f]), str(getattr(settings, f))] for f in TARGET_FIELDS if before[f] != getattr(settings, f)}
        audit.record(actor=actor, obj=settings, action="analytics.targets_changed", store_id=store.pk, changes=changes)
    return settings
