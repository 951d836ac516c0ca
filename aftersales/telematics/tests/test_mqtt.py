"""Real MQTT through the local Mosquitto: ``aftersales telematics-ingest`` processes on a shared subscription split
the messages; an ingester SIGKILLed mid-stream and restarted with the same client id loses no QoS-1 message and
writes none twice (the model: messaging/tests/test_worker_crash.py).

Each test uses a topic root of its own (TELEMATICS_MQTT_TOPIC_ROOT), so parallel test workers sharing the broker
never take each other's messages, and client ids of its own, whose persistent sessions are removed at the end.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.conf import settings
from django.utils import timezone

from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.common.tests.processes import database_url
from aftersales.telematics.models import Alert, Device, Reading, Rejection
from aftersales.telematics.mqtt import Publisher
from aftersales.telematics.services import device_create

from .conftest import signed

pytestmark = [pytest.mark.real_clock, pytest.mark.django_db(transaction=True)]


def _broker_up() -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((settings.TELEMATICS_MQTT_HOST, settings.TELEMATICS_MQTT_PORT)) == 0


@pytest.fixture
def broker(settings, tmp_path):
    if not _broker_up():  # .ci/run starts Mosquitto; a developer machine without it fails loudly, never skips
        pytest.fail("Mosquitto is not running on 127.0.0.1:1883 (start it: mosquitto -d)")
    root = f"test-{uuid.uuid4().hex[:10]}/telematics"
    settings.TELEMATICS_MQTT_TOPIC_ROOT = root
    env = {**os.environ, "DATABASE_URL": database_url(), "AFTERSALES_SECRET_KEY": settings.SECRET_KEY,
           "AFTERSALES_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "aftersales.settings",
           "TELEMATICS_MQTT_TOPIC_ROOT": root}
    env.pop("AFTERSALES_TEST_CLOCK", None)
    client_ids: list[str] = []
    yield env, client_ids
    for client_id in client_ids:  # drop the persistent sessions this test made
        cleaner = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        try:
            cleaner.connect(settings.TELEMATICS_MQTT_HOST, settings.TELEMATICS_MQTT_PORT)
            cleaner.loop_start()
            time.sleep(0.2)
            cleaner.disconnect()
            cleaner.loop_stop()
        except OSError:
            pass


def _start(env: dict[str, str], client_id: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "aftersales.cli", "telematics-ingest", "--client-id", client_id],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_subscribed(log: Path, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        if "connected" in log.read_text():
            time.sleep(0.3)  # the SUBSCRIBE follows the CONNACK
            return
        time.sleep(0.1)
    pytest.fail(f"the ingester did not connect:\n{log.read_text()}")


def _devices(world, n: int) -> list[tuple[Device, str]]:
    out = []
    for i in range(n):
        vehicle = VehicleFactory(owner=CustomerFactory(home_store=world.a))
        out.append(device_create(actor=world.manager, store=world.a, vehicle=vehicle, device_id=f"MQTT-{uuid.uuid4().hex[:8]}-{i}"))
    return out


def _message(device: Device, key: str, seq: int, **fields) -> bytes:
    at = timezone.now() - dt.timedelta(minutes=30) + dt.timedelta(seconds=seq)
    return signed(key, v=1, device=device.device_id, seq=seq, time=at.isoformat(), **fields)


def test_two_ingesters_share_the_stream_and_alerts_open(world, broker, tmp_path):
    env, client_ids = broker
    tag = uuid.uuid4().hex[:8]
    procs, logs = [], []
    for n in (1, 2):
        client_ids.append(f"test-ingest-{tag}-{n}")
        logs.append(tmp_path / f"ingest-{n}.log")
        procs.append(_start(env, client_ids[-1], logs[-1]))
    publisher = None
    try:
        deadline = time.monotonic() + 120  # waits, not timing targets: a loaded box starts processes slowly
        for proc, log in zip(procs, logs, strict=True):
            _wait_subscribed(log, proc, deadline)
        devices = _devices(world, 4)
        publisher = Publisher()
        for seq in range(1, 11):
            for device, key in devices:
                dtc = ["P0524"] if seq == 10 and device == devices[0][0] else []
                publisher.publish(device.device_id, _message(device, key, seq, battery_v=12.5, dtc=dtc), wait=False)
        publisher.publish(devices[0][0].device_id, b"not json at all")
        stranger = signed(devices[0][1], v=1, device="UNKNOWN-DEVICE", seq=1, time=timezone.now().isoformat())
        publisher.publish("UNKNOWN-DEVICE", stranger)
        while time.monotonic() < deadline and (Reading.objects.count() < 40 or Rejection.objects.count() < 2):
            time.sleep(0.2)
    finally:
        if publisher is not None:
            publisher.close()
        for proc in procs:
            _stop(proc)
    assert Reading.objects.count() == 40
    assert dict(Rejection.objects.values_list("reason", "count")) == {"malformed": 1, "unknown_device": 1}
    assert Alert.objects.get().code == "P0524"
    taken = [log.read_text() for log in logs]
    assert all("stopped" in text for text in taken), taken
    # the shared subscription gave each process a part of the stream
    assert all("'accepted': " in text for text in taken), taken


def test_sigkill_mid_stream_then_restart_loses_nothing_and_writes_nothing_twice(world, broker, tmp_path):
    env, client_ids = broker
    n = 300
    client_id = f"test-crash-{uuid.uuid4().hex[:8]}"
    client_ids.append(client_id)
    log = tmp_path / "ingest.log"
    devices = _devices(world, 3)
    first = _start(env, client_id, log)
    second = None
    publisher = None
    try:
        deadline = time.monotonic() + 240  # waits, not timing targets
        _wait_subscribed(log, first, deadline)
        publisher = Publisher()
        infos = []
        for seq in range(1, n // 3 + 1):
            for device, key in devices:
                infos.append(publisher.publish(device.device_id, _message(device, key, seq, battery_v=12.4), wait=False))
        for info in infos:
            info.wait_for_publish(timeout=30)  # the broker holds every message (QoS 1)
        while time.monotonic() < deadline and Reading.objects.count() < n // 4:
            assert first.poll() is None, log.read_text()
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = Reading.objects.count()
        assert 0 < at_kill < n, at_kill
        second = _start(env, client_id, log)  # the same client id: its session holds what was not acknowledged
        while time.monotonic() < deadline and Reading.objects.count() < n:
            assert second.poll() is None, log.read_text()
            time.sleep(0.2)
        time.sleep(1)  # a redelivered duplicate, if any, is refused meanwhile
    finally:
        if publisher is not None:
            publisher.close()
        for proc in (first, second):
            if proc is not None:
                _stop(proc)
    seqs = list(Reading.objects.values_list("device_id", "seq"))
    report = {"at_kill": at_kill, "readings": len(seqs), "rejections": dict(Rejection.objects.values_list("reason", "count"))}
    print(f"\ningester crash: {report}")
    assert len(seqs) == n and len(set(seqs)) == n, report  # nothing lost, nothing twice
    assert set(report["rejections"]) <= {"duplicate"}, report  # a redelivered, already-committed message is refused
    assert sum(Device.objects.values_list("accepted_count", flat=True)) == n
