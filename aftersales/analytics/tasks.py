"""Thin, idempotent tasks: each calls one function that is safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.analytics.rollup_recent", ignore_result=True)
def rollup_recent() -> int:
    """The daily KPI rollups of the last days up to yesterday, for every store."""
    from . import rollups

    return rollups.rollup_recent()


@shared_task(name="aftersales.analytics.rollup_current", ignore_result=True)
def rollup_current() -> int:
    """The period rows of the periods that contain today (the dashboard's current figures), every few minutes."""
    from . import rollups

    return rollups.rollup_current()


@shared_task(name="aftersales.analytics.refresh_dirty", ignore_result=True)
def refresh_dirty() -> int:
    """Recompute, once each, the store-days that domain events marked (KPI rollups and staff facts)."""
    from . import facts

    return facts.refresh_dirty()


@shared_task(name="aftersales.analytics.reconcile", ignore_result=True)
def reconcile() -> int:
    """Recompute the last weeks' rollups from the raw tables and record every difference."""
    from . import rollups

    return len(rollups.reconcile().differences)


@shared_task(name="aftersales.analytics.mail_reviews", ignore_result=True)
def mail_reviews() -> int:
    """Queue the reviews that fell due to the managers who subscribe (one message per manager and review)."""
    from . import mailing

    return mailing.mail_due_reviews()


@shared_task(name="aftersales.analytics.parts_demand", ignore_result=True)
def parts_demand() -> dict[str, int]:
    """Nightly: each store's parts demand forecast and suggested minimum levels (the open suggestions replaced)."""
    from . import parts_demand as demand

    return demand.compute_all()
