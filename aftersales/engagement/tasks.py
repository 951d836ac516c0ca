"""Thin, idempotent tasks: each calls one service (safe to run twice)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.engagement.nightly", ignore_result=True)
def nightly() -> dict[str, int]:
    """Every customer's tier (set-based), then the automatic tags, then dedicated-advisor suggestions for tier A."""
    from . import services, tags

    counts = services.tier_recompute_all()
    counts["tags"] = tags.recompute_auto_tags()
    counts["advisors_suggested"] = services.dedicated_advisor_suggest_all()
    return counts


@shared_task(name="aftersales.engagement.run_import", ignore_result=True)
def run_import(job_id: int) -> None:
    from .services import import_job_process

    import_job_process(job_id=job_id)


@shared_task(name="aftersales.engagement.import_sweep", ignore_result=True)
def import_sweep() -> int:
    from .services import import_sweep as sweep

    return sweep()
