"""Demo reception: two cars received this morning at the Guangzhou store, one signed on the advisor's screen with its
repair order open, one waiting for the customer's signature by link (`make run` shows both)."""

from __future__ import annotations

import base64
import datetime as dt
import io
from typing import Any


def _signature_png() -> str:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (360, 140), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(20, 100), (60, 40), (90, 110), (130, 30), (170, 100), (220, 60), (300, 90), (340, 50)], fill=(20, 20, 60, 255), width=5)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def load(builder: Any) -> None:
    from aftersales.vehicles.models import Vehicle

    from . import services

    store = builder.stores["gz"]
    advisor = builder._advisors(store)[0]
    vehicles = list(
        Vehicle.objects.filter(owner__home_store=store).exclude(plate="").exclude(repair_orders__status__in=(
            "checked_in", "inspecting", "estimate_sent", "authorized", "in_progress", "waiting_parts", "waiting_auth",
            "quality_check", "ready",
        )).select_related("owner").order_by("id")[:2]
    )
    now = builder.now
    for n, vehicle in enumerate(vehicles):
        at = now - dt.timedelta(minutes=50 - 30 * n)
        handover = services.handover_start(actor=advisor, store=store, vehicle=vehicle, at=at)
        handover = services.handover_update(actor=advisor, handover=handover, data={
            "mileage": (vehicle.current_mileage or 0) + 35, "energy_level": 55 if n == 0 else 80,
            "exterior": "fair" if n == 0 else "good", "belongings": "行车记录仪、雨伞" if n == 0 else "",
            "customer_words": "刹车时有吱吱声，早上冷车更明显" if n == 0 else "空调出风不凉",
            "since": "weeks" if n == 0 else "days", "frequency": "often", "conditions": ["braking", "cold_start"] if n == 0 else ["ac_on"],
            "restatement": "检查前后制动片与制动盘" if n == 0 else "检查空调制冷剂与压缩机",
            "extra_requests": ["wash", "tyre_pressure"] if n == 0 else ["interior_clean"],
            "promised_at": now + dt.timedelta(hours=4 + n),
        })
        services.damage_mark_add(actor=advisor, handover=handover, x=22, y=18, kind="scratch", note="左前门划痕 10 cm")
        if n == 0:
            services.damage_mark_add(actor=advisor, handover=handover, x=90, y=55, kind="dent", note="后保险杠轻微凹陷")
            services.handover_sign(actor=advisor, handover=handover, signature=_signature_png(), signer_name=vehicle.owner.name)
            services.handover_open_order(actor=advisor, handover=handover, at=at + dt.timedelta(minutes=12))
        else:
            services.handover_request_signature(actor=advisor, handover=handover)
