"""Demo data for customer care: maintenance plans, the shipped playbooks per store, a week of reminder sweeps
(so the care calendar shows what is due today and this week), a few recorded actions and a winter campaign.
Everything is made through the care services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone


def load(*, group: Any, now: dt.datetime) -> None:
    from aftersales.staff.models import User

    from .choices import ReminderStatus
    from .models import MaintenancePlan, Reminder
    from .services import (
        create_default_playbooks,
        playbook_activate,
        playbook_save,
        playbook_step_add,
        playbooks_tick,
        reminder_record_action,
        reminder_sweep,
    )

    MaintenancePlan.objects.bulk_create([
        MaintenancePlan(group=group, make="特斯拉", model="Model 3", first_service_months=12, first_service_km=20000,
                        interval_months=24, interval_km=20000),
        MaintenancePlan(group=group, make="比亚迪", model="汉", first_service_months=6, first_service_km=5000,
                        interval_months=12, interval_km=20000),
        MaintenancePlan(group=group, make="华晨宝马", first_service_months=3, first_service_km=5000,
                        interval_months=12, interval_km=15000),
    ])
    stores = list(group.stores.order_by("id"))
    for store in stores:
        create_default_playbooks(store)
    ids = [s.pk for s in stores]
    today = timezone.localtime(now, stores[0].zone).date()
    for back in range(14, -1, -1):  # two weeks of daily sweeps, as if the task had been running
        reminder_sweep(today=today - dt.timedelta(days=back), store_ids=ids)
    for store in stores:
        advisor = User.objects.filter(memberships__store=store, groups__name="service_advisor").order_by("id").first()
        if advisor is None:
            continue
        open_rows = list(Reminder.objects.filter(store=store, status__in=[ReminderStatus.DUE, ReminderStatus.SENT])
                         .order_by("-remind_on", "id")[:6])
        for reminder, action, note in zip(open_rows, ["called", "booked", "dismissed", "called"],
                                          ["客户说下周来", "已预约周六上午", "车辆已出售", "未接通，明天再打"], strict=False):
            reminder_record_action(actor=advisor, reminder=reminder, action=action, note=note)
        manager = User.objects.filter(memberships__store=store, groups__name="store_manager").order_by("id").first()
        if manager is not None:
            campaign = playbook_save(actor=manager, store=store, is_campaign=True, code="winter-battery", data={
                "name": "冬季电瓶免费检测", "trigger": "scheduled", "starts_at": now - dt.timedelta(days=1),
                "holdout_percent": 10, "description": "冬季前对全部客户发送电瓶免费检测邀请，10% 随机对照组不发送。",
            })
            playbook_step_add(actor=manager, playbook=campaign, kind="message", message_kind="campaign.offer",
                              text="冬季电瓶免费检测，到店即送玻璃水一瓶")
            playbook_activate(actor=manager, playbook=campaign)
    playbooks_tick(now=now)
