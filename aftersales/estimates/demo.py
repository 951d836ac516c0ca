"""Demo data for estimates: labour rates at both stores, a labour guide, and two cars of this morning's check-ins:
one with an estimate sent and waiting for the customer's approval (OEM vs aftermarket pads offered as options),
one approved by phone with a job declined (a declined recommendation on the vehicle). Made through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

# code, Chinese, English, hours, job type, skill, [(part number, quantity)]
OPERATIONS: list[tuple[str, str, str, str, str, str, list[tuple[str, str]]]] = [
    ("BRK-F", "更换前刹车片", "Replace front brake pads", "1.50", "repair", "maintenance", [("04465-33471", "1")]),
    ("BRK-R", "更换后刹车片", "Replace rear brake pads", "1.50", "repair", "maintenance", [("04466-33180", "1")]),
    ("BRK-DISC-F", "更换前刹车盘（一对）", "Replace front brake discs (pair)", "2.00", "repair", "maintenance", [("43512-33130", "2")]),
    ("BRK-FLUID", "更换刹车油", "Replace brake fluid", "0.80", "maintenance", "maintenance", [("08823-80011", "1")]),
    ("OIL-0W20", "更换机油机滤", "Oil and filter change", "0.50", "maintenance", "maintenance",
     [("08880-13705", "4"), ("04152-YZZA1", "1"), ("90430-12031", "1")]),
    ("FLT-AIR", "更换空气滤清器", "Replace air filter", "0.30", "maintenance", "maintenance", [("17801-21050", "1")]),
    ("FLT-CABIN", "更换空调滤芯", "Replace cabin filter", "0.30", "maintenance", "aircon", [("87139-YZZ08", "1")]),
    ("COOLANT", "更换冷却液", "Replace coolant", "1.00", "maintenance", "engine", [("08889-80140", "4")]),
    ("AC-CLEAN", "空调系统清洗消毒", "A/C system cleaning", "0.80", "maintenance", "aircon", []),
    ("TYRE-ROT", "四轮换位及动平衡", "Tyre rotation and balancing", "1.00", "maintenance", "tyres", []),
    ("ALIGN", "四轮定位", "Wheel alignment", "1.00", "repair", "tyres", []),
    ("DIAG", "故障诊断（电脑检测）", "Fault diagnosis (scan tool)", "1.00", "inspection", "electrical", []),
    ("ATF", "更换自动变速箱油", "Replace automatic transmission fluid", "1.20", "maintenance", "transmission", [("08886-81210", "4")]),
]


def _user(username: str) -> Any:
    from aftersales.staff.models import User

    return User.objects.get(username=username)


def _candidate(store: Any, now: dt.datetime, skip: set[int]) -> Any:
    """A car that arrived this morning with jobs proposed and no estimate yet (the newest); other apps' demo orders
    without jobs (e.g. the reception's handover) are left alone."""
    from aftersales.workshop.models import RepairOrder

    qs = RepairOrder.objects.filter(store=store, status="checked_in", estimates__isnull=True, jobs__status="proposed")
    if any(f.name == "handover" for f in RepairOrder._meta.get_fields()):
        qs = qs.filter(handover__isnull=True)  # the reception demo's car stays as reception left it
    return qs.exclude(pk__in=skip).distinct().select_related("customer", "vehicle").order_by("-opened_at", "-id").first()


def load(*, group: Any, now: dt.datetime | None = None, rates: dict[str, Decimal] | None = None) -> dict[str, Any]:
    """``rates``: the labour rate per store code (the demo loader's stores); the stores' own rates when None."""
    from aftersales.parts.models import Part
    from aftersales.stores.models import Store

    from . import services

    now = now or timezone.now()
    manager = _user("manager")
    stores = {s.code: s for s in Store.objects.filter(group=group)}
    rates = rates or {}
    for code, store in stores.items():
        store_manager = manager if code == "gz" else _user(f"manager.{code}")
        base = rates.get(code, Decimal("280.00"))
        for job_type, factor in (("repair", "1"), ("maintenance", "0.9"), ("inspection", "0.8"), ("warranty", "1"), ("internal", "0.6")):
            services.labour_rate_set(actor=store_manager, store=store, job_type=job_type, rate=(base * Decimal(factor)).quantize(Decimal("1")))
    parts = {p.number: p for p in Part.objects.filter(group=group)}
    ops = {}
    for code, zh, en, hours, job_type, skill, needed in OPERATIONS:
        ops[code] = services.labour_operation_save(
            actor=manager, group=group, code=code, name_zh=zh, name_en=en, standard_hours=hours, job_type=job_type,
            required_skill=skill, parts=[{"part": parts[n], "quantity": q} for n, q in needed if n in parts],
        )
    result: dict[str, Any] = {"operations": len(ops)}
    done: set[int] = set()

    # gz: an estimate sent this morning, waiting for the customer (OEM or aftermarket pads, and a cabin filter)
    gz = stores.get("gz")
    order = _candidate(gz, now, done) if gz else None
    if order is not None:
        advisor = order.advisor or _user("advisor")
        at = max(order.opened_at + dt.timedelta(minutes=25), now - dt.timedelta(minutes=20))
        services.estimate_add_operation(actor=advisor, order=order, operation=ops["BRK-F"], part_choice="both", at=at)
        services.estimate_add_operation(actor=advisor, order=order, operation=ops["FLT-CABIN"], at=at)
        services.estimate_send(actor=advisor, order=order, note="检查发现前刹车片剩余约 2 mm，建议本次更换。", at=at + dt.timedelta(minutes=3))
        result["sent"] = order.number
        done.add(order.pk)

    # sz (or gz): approved by phone, the brake fluid declined: a declined recommendation on the car
    store = stores.get("sz") or gz
    order = _candidate(store, now, done) if store else None
    if order is not None:
        advisor = order.advisor or _user("advisor.sz")
        at = max(order.opened_at + dt.timedelta(minutes=20), now - dt.timedelta(minutes=35))
        services.estimate_add_operation(actor=advisor, order=order, operation=ops["AC-CLEAN"], at=at)
        (fluid,) = services.estimate_add_operation(actor=advisor, order=order, operation=ops["BRK-FLUID"], at=at)
        estimate = services.estimate_send(actor=advisor, order=order, at=at + dt.timedelta(minutes=2))
        decisions = {job.pk: {"approve": True} for job in estimate.jobs.all()}
        decisions[fluid.pk] = {"approve": False, "reason": "客户表示下次保养时再换"}
        services.authorize_by_phone(
            actor=advisor, order=order, decisions=decisions, approver_name=order.customer.name,
            said="客户来电确认：做原报价的保养和空调清洗，刹车油这次先不换，下次保养再做。",
            approved_at=at + dt.timedelta(minutes=12), at=at + dt.timedelta(minutes=13),
        )
        result["declined"] = order.number
    return result
