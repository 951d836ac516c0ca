"""The MQTT side: the ingester loop (paho-mqtt 2.x) and a small publisher for the simulator, the bench and tests.

Devices publish to ``telematics/<device id>/up`` with QoS 1. Every ingester process subscribes to the shared
subscription ``$share/aftersales/telematics/+/up`` (the broker hands each message to one of them), with a fixed client
id and a persistent session (clean_session False), and acknowledges a message only after its transaction committed
(``manual_ack``). A process killed mid-stream has its unacknowledged messages redelivered when it reconnects with the
same client id; a message that was committed but not yet acknowledged comes back as a duplicate and is refused by
the (device, seq) key, so nothing is lost and nothing is written twice.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)


def topic_root() -> str:
    """``telematics`` (TELEMATICS_MQTT_TOPIC_ROOT: a test run or a second installation on one broker uses its own)."""
    return str(getattr(settings, "TELEMATICS_MQTT_TOPIC_ROOT", "telematics")).strip("/") or "telematics"


def shared_topic() -> str:
    return f"$share/aftersales/{topic_root()}/+/up"


def topic_for(device_id: str) -> str:
    return f"{topic_root()}/{device_id}/up"


def device_of(topic: str) -> str | None:
    root = topic_root() + "/"
    if not topic.startswith(root):
        return None
    parts = topic[len(root):].split("/")
    if len(parts) == 2 and parts[1] == "up" and parts[0]:
        return parts[0]
    return None


class Ingester:
    """One ingest process. ``run()`` blocks until ``stop()`` (or SIGTERM/SIGINT from the command).

    Messages are taken in batches: whatever the broker has already sent when the socket runs dry, at most
    ``batch_size`` messages (TELEMATICS_INGEST_BATCH, 100) or ``batch_ms`` after the first (TELEMATICS_INGEST_BATCH_MS,
    50 ms), go through ``services.ingest_batch`` in one transaction and are acknowledged after it committed. A quiet
    stream is taken message by message (no added wait); a busy one in batches of up to the broker's in-flight window
    (Mosquitto ``max_inflight_messages``, 20 by default: raise it to the batch size, see docs/telematics.md).
    """

    def __init__(self, *, client_id: str, host: str | None = None, port: int | None = None, on_result: Any = None,
                 batch_size: int | None = None, batch_ms: float | None = None) -> None:
        from . import services

        services._ingester_process = True  # a store's rules may be read from a cache at most 15 s old
        self.client_id = client_id
        self.host = host or settings.TELEMATICS_MQTT_HOST
        self.port = int(port or settings.TELEMATICS_MQTT_PORT)
        self.batch_size = max(1, int(batch_size or getattr(settings, "TELEMATICS_INGEST_BATCH", 100)))
        self.batch_wait = max(0.0, float(batch_ms if batch_ms is not None else getattr(settings, "TELEMATICS_INGEST_BATCH_MS", 50))) / 1000
        self.counts: Counter[str] = Counter()
        self.batches = 0
        self.on_result = on_result
        self._stop = threading.Event()
        self._pending: list[mqtt.MQTTMessage] = []
        self._first_at = 0.0
        self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
            protocol=mqtt.MQTTv311, manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            log.warning("telematics ingester %s: connection refused: %s", self.client_id, reason_code)
            return
        client.subscribe(shared_topic(), qos=1)
        log.info("telematics ingester %s connected (session present: %s)", self.client_id, flags.session_present)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        # what was received and not acknowledged stays in the broker's session and comes again on reconnect
        self._pending = []

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if not self._pending:
            self._first_at = time.monotonic()
        self._pending.append(msg)

    def _done(self, msg: mqtt.MQTTMessage, result: Any) -> None:
        self.client.ack(msg.mid, msg.qos)  # only now: the reading (or the rejection count) is committed
        self.counts["accepted" if result.accepted else f"rejected:{result.reason}"] += 1
        if self.on_result is not None:
            self.on_result(result)

    def flush(self) -> None:
        """Take the received messages (one transaction), then acknowledge them."""
        from .services import ingest, ingest_batch

        batch, self._pending = self._pending, []
        if not batch:
            return
        items = [(msg.payload, device_of(msg.topic)) for msg in batch]
        before = sum(self.counts.values())
        try:
            results = ingest_batch(items) if len(items) > 1 else [ingest(payload=items[0][0], topic_device=items[0][1])]
        except Exception:  # a deadlock or the database away: nothing of the batch was written; one by one
            log.exception("telematics ingester %s: batch of %d not taken; taking it message by message", self.client_id, len(batch))
            close_old_connections()
            for msg, (payload, topic_device) in zip(batch, items, strict=True):
                try:
                    result = ingest(payload=payload, topic_device=topic_device)
                except Exception:  # the database is away: leave the rest unacknowledged; it comes back on reconnect
                    log.exception("telematics ingester %s: message not taken, reconnecting", self.client_id)
                    close_old_connections()
                    self.client.disconnect()
                    return
                self._done(msg, result)
        else:
            for msg, result in zip(batch, results, strict=True):
                self._done(msg, result)
        self.batches += 1
        if before // 500 != sum(self.counts.values()) // 500:
            close_old_connections()

    def _due(self, received_now: bool) -> bool:
        if not self._pending:
            return False
        return (not received_now or len(self._pending) >= self.batch_size
                or time.monotonic() - self._first_at >= self.batch_wait)

    def stop(self) -> None:
        self._stop.set()
        self.client.disconnect()

    def run(self) -> Counter[str]:
        while not self._stop.is_set():
            try:
                self.client.connect(self.host, self.port, keepalive=30)
            except OSError as exc:
                log.warning("telematics ingester %s: broker %s:%s unreachable (%s); retrying", self.client_id, self.host, self.port, exc)
                self._stop.wait(2)
                continue
            while not self._stop.is_set():
                had = len(self._pending)
                rc = self.client.loop(timeout=0.0 if self._pending else 1.0)
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    break
                if self._due(received_now=len(self._pending) > had):
                    self.flush()
            self._pending = []  # not acknowledged: the broker resends them
            if not self._stop.is_set():
                self._stop.wait(1)  # disconnected after a failure: reconnect (the broker resends what was not acked)
        return self.counts


def install_signal_handlers(ingester: Ingester) -> None:
    def handler(signum: int, frame: Any) -> None:
        ingester.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


class Publisher:
    """A QoS-1 publisher (the simulator, the bench, the tests): ``publish()`` returns once the broker has the message."""

    def __init__(self, *, client_id: str = "", host: str | None = None, port: int | None = None) -> None:
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(100)
        self.client.connect(host or settings.TELEMATICS_MQTT_HOST, int(port or settings.TELEMATICS_MQTT_PORT), keepalive=30)
        self.client.loop_start()

    def publish(self, device_id: str, payload: bytes, *, wait: bool = True) -> mqtt.MQTTMessageInfo:
        info = self.client.publish(topic_for(device_id), payload, qos=1)
        if wait:
            info.wait_for_publish(timeout=10)
        return info

    def close(self) -> None:
        time.sleep(0.05)
        self.client.loop_stop()
        self.client.disconnect()
