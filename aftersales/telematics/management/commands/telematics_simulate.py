"""``aftersales telematics-simulate``: drive demo cars so a person can watch alerts appear on the screens.

Gives up to ``--cars`` cars of a store (owners' cars, the demo's by default) a simulated device (``SIM-<car id>``,
registered the first time) and publishes a signed message per car every ``--interval`` seconds through the MQTT
broker, for ``--rounds`` rounds (0: until Ctrl-C). Run ``aftersales telematics-ingest`` beside it. The cars play
scenes: the first drives normally, the second is parked with its battery running down (a battery alert after three
low readings at rest), the third starts misfiring in cylinder 1 (a critical alert) and is repaired halfway (the
alert closes), the fourth loses oil pressure, the fifth (an electric car if there is one) raises a level-3 alarm.
"""

from __future__ import annotations

import json
import random
import time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


def scene_message(scene: int, step: int, total: int, state: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One car's reading at ``step`` of ``total`` for its scene (0 normal, 1 battery, 2 misfire, 3 oil, 4 NEV)."""
    driving = scene in (0, 2, 3) and step % 6 != 5
    state["km"] += rng.randint(1, 3) if driving else 0
    battery = Decimal("14.1") if driving else Decimal("12.6")
    if scene == 1:
        battery = max(Decimal("10.9"), Decimal("12.4") - Decimal("0.25") * step)
    codes: list[str] = []
    if scene == 2 and 2 <= step < max(4, total // 2):
        codes = ["P0301"]
    if scene == 3 and step >= 3:
        codes = ["P0524"]
    message: dict[str, Any] = {
        "odometer_km": state["km"], "battery_v": float(battery + Decimal(rng.randint(-5, 5)) / 100),
        "ignition": driving, "speed_kmh": rng.randint(20, 80) if driving else 0, "dtc": codes,
        "gps": {"lat": round(23.1291 + rng.uniform(-0.05, 0.05), 6), "lon": round(113.2644 + rng.uniform(-0.05, 0.05), 6)},
    }
    if state["ev"]:
        state["charge"] = max(5, state["charge"] - (1 if driving else 0))
        message["charge_pct"] = state["charge"]
        message["nev_alarm"] = 3 if scene == 4 and step >= 2 else 0
    else:
        state["fuel"] = max(5, state["fuel"] - (1 if driving and step % 3 == 0 else 0))
        message["fuel_pct"] = state["fuel"]
    return message


class Command(BaseCommand):
    help = "Publish realistic telematics messages for demo cars (see the module docstring)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--store", default="", help="store code (default: the first store)")
        parser.add_argument("--cars", type=int, default=5)
        parser.add_argument("--interval", type=float, default=3.0, help="seconds between rounds")
        parser.add_argument("--rounds", type=int, default=20, help="0: until Ctrl-C")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.stores.models import Store
        from aftersales.telematics import credentials
        from aftersales.telematics.models import Device
        from aftersales.telematics.mqtt import Publisher
        from aftersales.telematics.services import device_register_system
        from aftersales.vehicles.models import Vehicle

        store = Store.objects.filter(code=options["store"]).first() if options["store"] else Store.objects.order_by("id").first()
        if store is None:
            raise CommandError("No such store (load the demo first: aftersales load_demo).")
        cars = list(Vehicle.objects.filter(group_id=store.group_id, owner__isnull=False, owner__home_store=store)
                    .order_by("-fuel_type", "id")[: max(1, options["cars"])])
        if not cars:
            raise CommandError("This store has no customers' cars.")
        ev_first = sorted(cars, key=lambda v: v.fuel_type not in ("ev", "phev"))
        if len(cars) >= 5:  # the fifth scene wants an electric car when there is one
            cars = [*[c for c in cars if c != ev_first[0]][:4], ev_first[0]]
        rng = random.Random(options["seed"])
        fleet = []
        for car in cars:
            device = Device.objects.filter(vehicle=car, revoked_at__isnull=True).first()
            if device is None:
                device, _key = device_register_system(store=store, vehicle=car, device_id=f"SIM-{car.pk}")
                self.stdout.write(f"registered device {device.device_id} for {car.plate or car.vin}")
            key = credentials.device_key(device.device_id, device.key_salt)
            fleet.append({"device": device, "key": key, "seq": (device.last_seq or 0) + 1, "car": car,
                          "state": {"km": max(car.current_mileage, 1000), "fuel": 80, "charge": 90,
                                    "ev": car.fuel_type in ("ev", "phev")}})
        publisher = Publisher()
        rounds = options["rounds"]
        step = 0
        try:
            while rounds == 0 or step < rounds:
                for scene, car in enumerate(fleet):
                    body = scene_message(scene, step, rounds or 40, car["state"], rng)
                    message = credentials.sign_message(car["key"], {
                        "v": 1, "device": car["device"].device_id, "seq": car["seq"], "time": timezone.now().isoformat(), **body,
                    })
                    publisher.publish(car["device"].device_id, json.dumps(message, ensure_ascii=False).encode())
                    car["seq"] += 1
                    self.stdout.write(f"{car['device'].device_id} #{car['seq'] - 1}: battery {body['battery_v']} V"
                                      f"{' codes ' + ','.join(body['dtc']) if body['dtc'] else ''}"
                                      f"{' alarm ' + str(body.get('nev_alarm')) if body.get('nev_alarm') else ''}")
                step += 1
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass
        finally:
            publisher.close()
        self.stdout.write(f"published {step} rounds for {len(fleet)} cars")
