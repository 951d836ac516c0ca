"""The simulator's scenes, fed straight to the ingest service, open the alerts a person is meant to watch appear; the
command itself registers its devices and publishes through the real broker."""

from __future__ import annotations

import json
import random

import pytest
from django.core.management import call_command
from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.telematics import credentials
from aftersales.telematics.management.commands.telematics_simulate import scene_message
from aftersales.telematics.models import Alert, Device
from aftersales.telematics.services import device_register_system, ingest


@pytest.mark.django_db
def test_scenes_open_and_close_the_expected_alerts(world):
    rng = random.Random(7)
    kinds = {}
    for scene in range(5):
        car = VehicleFactory(owner=CustomerFactory(home_store=world.a), fuel_type="ev" if scene == 4 else "petrol")
        device, key = device_register_system(store=world.a, vehicle=car, device_id=f"SIM-T-{scene}")
        state = {"km": 20000, "fuel": 80, "charge": 90, "ev": scene == 4}
        for step in range(12):
            body = scene_message(scene, step, 12, state, rng)
            message = credentials.sign_message(key, {"v": 1, "device": device.device_id, "seq": step + 1,
                                                     "time": timezone.now().isoformat(), **body})
            assert ingest(payload=json.dumps(message).encode(), topic_device=device.device_id).accepted
        kinds[scene] = {(a.kind, a.status) for a in Alert.objects.filter(device=device)}
    assert kinds[0] == set()
    assert kinds[1] == {("battery_low", "open")}
    assert kinds[2] == {("misfire", "closed")}  # repaired halfway: the code cleared
    assert kinds[3] == {("oil_pressure", "open")}
    assert kinds[4] == {("nev_alarm", "open")}


@pytest.mark.real_clock
@pytest.mark.django_db
def test_command_registers_devices_and_publishes(world, settings):
    settings.TELEMATICS_MQTT_TOPIC_ROOT = "test-simulate/telematics"
    for _ in range(3):
        VehicleFactory(owner=CustomerFactory(home_store=world.a))
    call_command("telematics_simulate", store=world.a.code, cars=3, rounds=2, interval=0)
    assert Device.objects.filter(device_id__startswith="SIM-").count() == 3
