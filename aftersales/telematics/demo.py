"""Demo data for connected cars (issue 21): at each store, four customers' cars carry a device that has reported for
the last two hours, through the same signed-message path as a real device (``services.ingest``). The scenes of
``aftersales telematics-simulate`` leave what an evaluator should find: one car driving normally, one parked with a
battery running down (an open battery alert), one that lost oil pressure (an open critical alert), and an electric car
charging normally. Owners and advisors get the messages and tasks the alerts send."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from django.utils import timezone

STEPS = 24  # one reading every 5 minutes: two hours
SCENES = (0, 1, 3, 0)  # normal, battery running down, oil pressure lost, normal (an electric car where there is one)


def load(*, group: Any, now: dt.datetime) -> dict[str, int]:
    from aftersales.stores.models import Store
    from aftersales.vehicles.models import Vehicle

    from . import credentials
    from .management.commands.telematics_simulate import scene_message
    from .services import device_register_system, ingest

    rng = random.Random(21)
    end = min(now, timezone.now())
    devices = accepted = 0
    for store in Store.objects.filter(group=group).order_by("code"):
        cars = list(Vehicle.objects.filter(group=group, owner__isnull=False, owner__home_store=store, fuel_type="petrol")
                    .exclude(owner__mobile="").order_by("id")[:3])
        ev = Vehicle.objects.filter(group=group, owner__isnull=False, owner__home_store=store, fuel_type="ev").order_by("id").first()
        fleet = [*cars, *([ev] if ev else [])]
        for scene, car in zip(SCENES, fleet, strict=False):
            device, key = device_register_system(store=store, vehicle=car, device_id=f"OBD-{store.code.upper()}-{car.pk:05d}")
            devices += 1
            state = {"km": max(car.current_mileage or 0, 1000), "fuel": 70, "charge": 85, "ev": car.fuel_type == "ev"}
            for step in range(STEPS):
                body = scene_message(scene, step, STEPS, state, rng)
                at = end - dt.timedelta(minutes=5 * (STEPS - step))
                message = credentials.sign_message(key, {"v": 1, "device": device.device_id, "seq": step + 1,
                                                         "time": at.isoformat(), **body})
                result = ingest(payload=json.dumps(message, ensure_ascii=False).encode(), topic_device=device.device_id)
                accepted += int(result.accepted)
    return {"devices": devices, "readings": accepted}
