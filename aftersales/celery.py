"""The Celery application. Periodic schedules are declared here, in code."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")

app = Celery("aftersales")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "worker-heartbeat": {"task": "aftersales.common.tasks.heartbeat", "schedule": 60.0},
    # the outbox: every message queued is also found by this sweep, so a lost nudge only delays it
    "messaging-dispatch": {"task": "aftersales.messaging.dispatch", "schedule": 10.0},
    "messaging-recover": {"task": "aftersales.messaging.recover", "schedule": 60.0},
    "prune-task-runs": {"task": "aftersales.common.tasks.prune_task_runs", "schedule": 3600.0},
    # 常用配件自动申购: nightly at 02:00 Asia/Shanghai (CELERY_TIMEZONE is UTC); the reorder screen can also run it now
    "parts-reorder-sweep": {"task": "aftersales.parts.reorder_sweep", "schedule": crontab(hour=18, minute=0)},
    "parts-expire-reservations": {"task": "aftersales.parts.expire_reservations", "schedule": 600.0},
    # tiers (set-based), automatic tags, tier-A advisor suggestions: nightly at 01:30 Asia/Shanghai
    "engagement-nightly": {"task": "aftersales.engagement.nightly", "schedule": crontab(hour=17, minute=30)},
    "engagement-import-sweep": {"task": "aftersales.engagement.import_sweep", "schedule": 60.0},
    # loyalty: paid invoices billing did not report earn within 10 minutes; expiry nightly at 01:00 Asia/Shanghai
    # billing: online payments whose provider notification never came are asked about (and settled) every minute
    "billing-online-payment-sweep": {"task": "aftersales.billing.online_payment_sweep", "schedule": 60.0},
    # the owner app's shop: pickup orders not paid within SHOP_ORDER_UNPAID_MINUTES expire, their stock released
    "portal-shop-expiry-sweep": {"task": "aftersales.portal.shop_expiry_sweep", "schedule": 60.0},
    "loyalty-earn-sweep": {"task": "aftersales.loyalty.earn_sweep", "schedule": 600.0},
    "loyalty-expiry-sweep": {"task": "aftersales.loyalty.expiry_sweep", "schedule": crontab(hour=17, minute=0)},
    # follow-ups after delivery (created, surveyed, retried, closed as unreached) and feedback SLA warnings/escalations
    "feedback-followup-sweep": {"task": "aftersales.feedback.followup_sweep", "schedule": 300.0},
    "feedback-sla-sweep": {"task": "aftersales.feedback.sla_sweep", "schedule": 60.0},
    # care: the daily reminder sweep at 09:00 Asia/Shanghai (01:00 UTC); playbooks enrol and advance every 10 minutes
    "care-reminder-sweep": {"task": "aftersales.care.reminder_sweep", "schedule": crontab(hour=1, minute=0)},
    "care-playbooks-tick": {"task": "aftersales.care.playbooks_tick", "schedule": 600.0},
    # cockpit: the period rows of the current periods every 5 minutes; daily KPI rollups of the last 7 days hourly; the reconcile of the last 35 days nightly at 03:30
    # Asia/Shanghai; the reviews mailed to the managers who subscribe, checked daily at 07:00 Asia/Shanghai
    "analytics-rollup-current": {"task": "aftersales.analytics.rollup_current", "schedule": 300.0},
    "analytics-refresh-dirty": {"task": "aftersales.analytics.refresh_dirty", "schedule": 60.0},
    "analytics-rollup-recent": {"task": "aftersales.analytics.rollup_recent", "schedule": crontab(minute=20)},
    "analytics-reconcile": {"task": "aftersales.analytics.reconcile", "schedule": crontab(hour=19, minute=30)},
    "analytics-mail-reviews": {"task": "aftersales.analytics.mail_reviews", "schedule": crontab(hour=23, minute=0)},
    "analytics-parts-demand": {"task": "aftersales.analytics.parts_demand", "schedule": crontab(hour=18, minute=40)},
    "telematics-partitions": {"task": "aftersales.telematics.partitions", "schedule": crontab(hour=16, minute=10)},
    "telematics-prune": {"task": "aftersales.telematics.prune", "schedule": crontab(hour=18, minute=40)},
    "estimates-train-diagnosis": {"task": "aftersales.estimates.train_diagnosis", "schedule": 1800.0},
    "workshop-flag-silent-orders": {"task": "aftersales.workshop.flag_silent_orders", "schedule": 300.0},
    # rescue: late dispatch / acceptance / arrival → an alert on the dispatcher's board; ETA factors nightly 03:00 Shanghai
    "rescue-escalation-sweep": {"task": "aftersales.rescue.escalation_sweep", "schedule": 60.0},
    "rescue-calibrate": {"task": "aftersales.rescue.calibrate", "schedule": crontab(hour=19, minute=0)},
    "people-certificate-reminders": {"task": "aftersales.people.certificate_reminders", "schedule": crontab(hour=0, minute=30)},
}


@worker_ready.connect
def _report_ready(sender: Any = None, **kwargs: Any) -> None:
    """Record the worker's heartbeat as soon as it is up, so the status page shows it at once."""
    from aftersales.common.tasks import heartbeat
    from aftersales.estimates.tasks import train_diagnosis

    heartbeat()
    train_diagnosis.delay()  # a worker that starts trains what moved at once, not 30 minutes later
