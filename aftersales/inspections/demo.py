"""Demo data for inspections and quality control, made through the real services.

Called once at the end of the demo run (``aftersales/demo/loader.py``) with the demo builder: every store gets the
shipped checklists; in the first store a car with a completed inspection (red and yellow items, a photo, the
diagnosis, proposed jobs, the report sent), a car being inspected right now, an order that went through QC with one
rework and is ready, and one waiting for the QC inspector's final check.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales.workshop.choices import IN_SHOP_STATES, JobStatus, OrderStatus
from aftersales.workshop.models import RepairJob, RepairOrder
from aftersales.workshop.services import repair_job_move, repair_order_move, repair_order_record_visit

from . import services
from .choices import QcResult, Rating
from .models import ChecklistItem, InspectionItem
from .photos import tiny_png

READINGS = {  # name_en → (value, notes); every other item is green
    "Tread depth, front left": ("2.4", "外侧偏磨，建议做四轮定位"),
    "Tread depth, front right": ("2.6", ""),
    "Front brake pad thickness": ("2.5", "刹车片接近磨损极限，有金属摩擦声"),
    "Battery voltage (at rest)": ("12.2", "冬季前建议更换"),
    "Tyre pressure (cold)": ("2.3", ""),
    "Brake fluid water content": ("1.5", ""),
}
RED_CHECKS = {"Wiper blades and washers": "雨刮片老化开裂，刮水不净"}


def load(builder: Any) -> None:
    stores = list(builder.stores.values())
    for store in stores:
        services.install_default_checklists(store=store, actor=builder._staff_of(store, "manager"))
    store = stores[0]
    now: dt.datetime = builder.now
    cars = _cars(builder, store, 4)
    if len(cars) < 4:
        return
    advisor, tech, foreman = (builder._staff_of(store, s) for s in ("advisor", "tech", "foreman"))
    qc, tech2 = builder._staff_of(store, "qc"), builder._staff_of(store, "tech2")
    rate = builder.store_cfg[store.code]["labour_rate"]

    # 1. a completed inspection with its report sent and proposed jobs
    check = [_job("全车检测 / Vehicle inspection", "0.5", rate, "inspection")]
    order = _check_in(advisor, store, cars[0], now - dt.timedelta(minutes=70), "刹车时有异响，顺便做个全车检查", check)
    inspection = services.inspection_start(actor=advisor, order=order, technician=tech, at=now - dt.timedelta(minutes=65))
    for item in InspectionItem.objects.filter(inspection=inspection).order_by("seq"):
        at = now - dt.timedelta(minutes=60) + dt.timedelta(seconds=30 * item.seq)
        if item.name_en in READINGS:
            value, notes = READINGS[item.name_en]
            services.inspection_item_record(actor=tech, item=item, value=value, notes=notes, at=at)
        elif item.name_en in RED_CHECKS:
            services.inspection_item_record(actor=tech, item=item, rating=Rating.RED, notes=RED_CHECKS[item.name_en], at=at)
        elif item.kind == "measure":
            services.inspection_item_record(actor=tech, item=item, value=_good_value(item), at=at)
        else:
            services.inspection_item_record(actor=tech, item=item, rating=Rating.GREEN, at=at)
    pads = InspectionItem.objects.get(inspection=inspection, name_en="Front brake pad thickness")
    services.inspection_photo_add(actor=tech, item=pads, upload=SimpleUploadedFile("pads.png", tiny_png((150, 60, 40), (320, 240))))
    services.inspection_diagnosis_save(
        actor=tech, inspection=inspection, findings="前刹车片剩余 2.5 mm，制动时有金属摩擦声；左前轮胎外侧偏磨；雨刮片老化。",
        likely_causes="刹车片正常磨损到极限；四轮定位偏差导致轮胎偏磨。",
        recommended_work="更换前刹车片并检查刹车盘；四轮定位；更换雨刮片；冬季前更换蓄电池。",
    )
    services.inspection_complete(actor=tech, inspection=inspection, at=now - dt.timedelta(minutes=30))
    services.inspection_propose_jobs(actor=advisor, inspection=inspection, at=now - dt.timedelta(minutes=25))
    services.inspection_report_send(actor=advisor, inspection=inspection, at=now - dt.timedelta(minutes=24))

    # 2. an inspection under way (open it as "tech" on a phone)
    order = _check_in(advisor, store, cars[1], now - dt.timedelta(minutes=25), "做常规保养，顺便检查一下", check)
    inspection = services.inspection_start(actor=advisor, order=order, technician=tech2, at=now - dt.timedelta(minutes=20))
    for item in InspectionItem.objects.filter(inspection=inspection, kind="check").order_by("seq")[:4]:
        services.inspection_item_record(actor=tech2, item=item, rating=Rating.GREEN, at=now - dt.timedelta(minutes=15))

    # 3. quality control with one rework, now ready; 4. waiting for the final QC
    for n, car in enumerate(cars[2:4]):
        opened = now - dt.timedelta(hours=4 - n)
        order = _check_in(advisor, store, car, opened, "更换前刹车片", [_job("更换前刹车片", "1.0", rate), _job("刹车油更换", "0.5", rate)])
        jobs = list(RepairJob.objects.filter(order=order).order_by("seq"))
        step = opened + dt.timedelta(minutes=20)
        repair_order_move(actor=advisor, order=order, to=OrderStatus.ESTIMATE_SENT, at=step)
        for job in jobs:
            repair_job_move(actor=advisor, job=job, to=JobStatus.AUTHORIZED, at=step + dt.timedelta(minutes=5))
        repair_order_move(actor=advisor, order=order, to=OrderStatus.AUTHORIZED, at=step + dt.timedelta(minutes=5))
        repair_order_move(actor=advisor, order=order, to=OrderStatus.IN_PROGRESS, at=step + dt.timedelta(minutes=10))
        for job in jobs:
            RepairJob.objects.filter(pk=job.pk).update(technician=tech)
            for k, to in enumerate((JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE)):
                repair_job_move(actor=foreman if to == JobStatus.DISPATCHED else tech, job=job, to=to,
                                at=step + dt.timedelta(minutes=15 + 30 * k))
        t = step + dt.timedelta(minutes=80)
        _sign(tech, order, "self", t)
        _sign(foreman, order, "peer", t + dt.timedelta(minutes=5))
        if n == 0:
            services.qc_sign(
                actor=qc, order=order, kind="final", at=t + dt.timedelta(minutes=15), rework_job_ids=[jobs[0].pk],
                results=_answers(store.pk, "final", fail="Repaired systems work as intended", note="路试制动时仍有轻微异响"),
            )
            for k, to in enumerate((JobStatus.IN_PROGRESS, JobStatus.DONE)):
                repair_job_move(actor=tech, job=jobs[0], to=to, reason="重新调整刹车卡钳", at=t + dt.timedelta(minutes=20 + 15 * k))
            t += dt.timedelta(minutes=40)
            _sign(tech, order, "self", t)
            _sign(foreman, order, "peer", t + dt.timedelta(minutes=5))
            _sign(qc, order, "final", t + dt.timedelta(minutes=15))
            _sign(advisor, order, "cleaning", t + dt.timedelta(minutes=25))


def _cars(builder: Any, store: Any, n: int) -> list[Any]:
    """Vehicles of the store's customers with a plate and no car in the workshop right now."""
    busy = set(RepairOrder.objects.filter(status__in=IN_SHOP_STATES).values_list("vehicle_id", flat=True))
    out = []
    for customer in builder.customers:
        if customer.home_store_id != store.pk:
            continue
        vehicle = customer.vehicles.exclude(plate="").exclude(pk__in=busy).order_by("id").first()
        if vehicle is not None and vehicle.owner_id == customer.pk:
            out.append(vehicle)
        if len(out) == n:
            break
    return out


def _check_in(advisor: Any, store: Any, vehicle: Any, at: dt.datetime, complaint: str, jobs: list[dict[str, Any]]) -> RepairOrder:
    """A car checked in with its first job(s) (recorded like the rest of the demo's visits)."""
    km = (vehicle.current_mileage or 20000) + 420
    return repair_order_record_visit(
        actor=advisor, store=store, customer=vehicle.owner, vehicle=vehicle, opened_at=at, jobs=jobs, advisor=advisor,
        mileage=km, complaint=complaint,
    )


def _job(title: str, hours: str, rate: Decimal, job_type: str = "repair") -> dict[str, Any]:
    return {"title": title, "job_type": job_type,
            "lines": [{"kind": "labour", "description": title, "quantity": hours, "unit_price": rate}]}


def _good_value(item: InspectionItem) -> str:
    """A value in the green band of the item's thresholds (as far inside as the yellow band is wide)."""
    low = item.yellow_below if item.yellow_below is not None else item.red_below
    high = item.yellow_above if item.yellow_above is not None else item.red_above
    if low is not None and high is not None:
        value = (low + high) / 2
    elif low is not None:
        value = low + (low - item.red_below if item.red_below is not None and item.red_below < low else low / 10)
    elif high is not None:
        value = high - (item.red_above - high if item.red_above is not None and item.red_above > high else high / 10)
    else:
        value = Decimal("1")
    return str(value.quantize(Decimal("0.01")))


def _answers(store_id: int, kind: str, fail: str = "", note: str = "") -> list[dict[str, Any]]:
    checklist = services.qc_checklist(store_id, kind)
    rows = []
    for item in ChecklistItem.objects.filter(checklist=checklist).order_by("group__seq", "seq"):
        result = QcResult.FAIL if item.name_en == fail else QcResult.PASS
        rows.append({"item_id": item.pk, "result": result, "note": note if result == QcResult.FAIL else ""})
    return rows


def _sign(actor: Any, order: RepairOrder, kind: str, at: dt.datetime) -> None:
    services.qc_sign(actor=actor, order=order, kind=kind, results=_answers(order.store_id, kind), at=at)
