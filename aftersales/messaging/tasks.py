from __future__ import annotations

from celery import shared_task

from .dispatch import dispatch_due, recover_stale


@shared_task(name="aftersales.messaging.dispatch", ignore_result=True)
def dispatch() -> dict[str, int]:
    """Send what is due. Safe to run any number of times at once (claims skip each other's rows)."""
    return dispatch_due()


@shared_task(name="aftersales.messaging.recover", ignore_result=True)
def recover() -> dict[str, int]:
    return recover_stale()
