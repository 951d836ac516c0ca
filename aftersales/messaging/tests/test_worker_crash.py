"""A real Celery worker is SIGKILLed in the middle of a batch; a second worker recovers. Nothing is lost, and every
message has its effect once.

The provider is deliberately slow (20 ms per message, two send threads: about 100 messages a second), so the kill
lands while a batch is on the wire: some messages recorded ``sent``, some accepted by the provider but still
``sending`` in the database (the crash window), the rest not yet claimed. The second worker runs with
``MESSAGING_STALE_AFTER_SECONDS=2``; the test sends it the ``recover`` and ``dispatch`` tasks through the broker
(solo pool: they run one after the other, as beat would schedule them).

- webhook: recovery cannot ask the receiver, but the receiver de-duplicates on the Idempotency-Key, so the
  messages in the crash window are resent with the same key: distinct keys = the messages, raw POSTs ≥ that.
- console: recovery reads the file (reconciliation), so there is no resend at all: exactly one line per message.

SQLite runs use the embedded on-disk broker; CELERY_TEST_BROKER_URL (e.g. Redis) is used when set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from aftersales.common import crypto
from aftersales.common.tests.factories import CustomerFactory, DealerGroupFactory, StoreFactory
from aftersales.common.tests.processes import broker_url, database_url
from aftersales.messaging import services
from aftersales.messaging.choices import Channel, MessageStatus
from aftersales.messaging.kinds import KINDS
from aftersales.messaging.models import Message
from aftersales.messaging.services import channel_settings, message_enqueue
from aftersales.messaging.tests.local_servers import WebhookReceiver

N = 300
DELAY = 0.02

# The worker process, with the console "provider" as slow as the webhook receiver (one write takes 20 ms).
WORKER = """
import sys, time
if sys.argv[1] == "slow-console":
    from aftersales.messaging.adapters import local
    _send = local.ConsoleAdapter.send
    def slow_send(self, message):
        time.sleep(DELAY)
        return _send(self, message)
    local.ConsoleAdapter.send = slow_send
from celery.__main__ import main
sys.argv = ["celery", *sys.argv[2:]]
sys.exit(main())
""".replace("DELAY", str(DELAY))



def _broker(env: dict[str, str]) -> Celery:
    """A client of the worker's broker (the same transport settings as aftersales.settings gives the worker)."""
    url = env["CELERY_BROKER_URL"]
    app = Celery("outbox-crash-test", broker=url, set_as_current=False)
    if url.startswith("filesystem://"):
        queue = Path(env["AFTERSALES_DATA_DIR"]) / "queue"
        for sub in ("out", "processed"):
            (queue / sub).mkdir(parents=True, exist_ok=True)
        app.conf.broker_transport_options = {
            "data_folder_in": str(queue / "out"), "data_folder_out": str(queue / "out"),
            "processed_folder": str(queue / "processed"), "store_processed": False,
        }
    else:
        import redis

        redis.Redis.from_url(url).flushdb()
    return app


def _start_worker(env: dict[str, str], log: Path, slow_console: bool) -> subprocess.Popen:
    args = [sys.executable, "-c", WORKER, "slow-console" if slow_console else "-",
            "-A", "aftersales", "worker", "--pool", "solo", "--loglevel", "WARNING",
            "--without-heartbeat", "--without-gossip", "--without-mingle"]
    return subprocess.Popen(args, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def _status_counts() -> dict[str, int]:
    return dict(Counter(Message.objects.values_list("status", flat=True)))


@pytest.mark.real_clock  # the worker / server is another process on the real clock
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("channel", [Channel.WEBHOOK, "console"])
def test_sigkill_mid_batch_then_recovery_sends_everything_once(channel, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "nudge_dispatcher", lambda countdown=0.0: None)  # the test sends the tasks
    store = StoreFactory(group=DealerGroupFactory(name="Crash Motors"))
    receiver = WebhookReceiver(delay=DELAY)
    cfg = channel_settings(store)
    cfg.webhook_url, cfg.webhook_secret = receiver.url, receiver.secret
    cfg.save()
    customers = [CustomerFactory(home_store=store) for _ in range(10)]
    for i in range(N):
        if channel == Channel.WEBHOOK:
            message_enqueue(kind="staff.task", store=store, channel=Channel.WEBHOOK, dedup_key=f"crash:{i}",
                            variables=dict(KINDS["staff.task"].variables))
        else:  # SMS through the store's console provider
            message_enqueue(kind="repair.ready", store=store, customer=customers[i % 10], dedup_key=f"crash:{i}",
                            variables=dict(KINDS["repair.ready"].variables))
    ids = set(Message.objects.filter(status=MessageStatus.PENDING).values_list("pk", flat=True))
    assert len(ids) == N
    console = tmp_path / "outbox" / "console.jsonl"

    def effects() -> list[int]:
        if channel == Channel.WEBHOOK:
            return [int(key.rsplit("-", 1)[1]) for key in receiver.accepted_keys()]
        if not console.exists():
            return []
        return [json.loads(line)["id"] for line in console.read_text().splitlines() if line.strip()]

    env = {
        **os.environ,
        "AFTERSALES_DATA_DIR": str(tmp_path),
        # the worker reads the secrets the test stored encrypted: the same keys (one data directory in production)
        "AFTERSALES_ENCRYPTION_KEYS": ",".join(crypto.current_keys()),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url(),
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "MESSAGING_BATCH_SIZE": "100",
        "MESSAGING_SEND_THREADS": "2",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    broker = _broker(env)
    log = tmp_path / "worker.log"
    first = _start_worker(env, log, slow_console=channel == "console")
    second = None
    try:
        broker.send_task("aftersales.messaging.dispatch")
        # kill when the provider has some but not all, with a batch on the wire
        deadline = time.monotonic() + 240  # waits, not a timing target: a loaded CI box starts workers slowly
        while time.monotonic() < deadline:
            assert first.poll() is None, log.read_text()
            seen = len(set(effects()))
            if seen >= N // 2 and Message.objects.filter(status=MessageStatus.SENDING).exists():
                break
            time.sleep(0.01)
        else:
            pytest.fail(f"the first worker made no progress: {_status_counts()}\n{log.read_text()}")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        time.sleep(0.2)  # the receiver's in-flight requests finish
        at_kill = _status_counts()
        seen_at_kill = len(set(effects()))
        assert 0 < seen_at_kill < N, at_kill
        assert at_kill.get(MessageStatus.SENDING, 0) > 0 and at_kill.get(MessageStatus.SENT, 0) > 0, at_kill

        env2 = {**env, "MESSAGING_STALE_AFTER_SECONDS": "2"}
        second = _start_worker(env2, log, slow_console=channel == "console")
        deadline = time.monotonic() + 240  # waits, not a timing target: a loaded CI box starts workers slowly
        while time.monotonic() < deadline:
            assert second.poll() is None, log.read_text()
            if Message.objects.filter(status=MessageStatus.SENT).count() == N:
                break
            broker.send_task("aftersales.messaging.recover")
            broker.send_task("aftersales.messaging.dispatch")
            time.sleep(1.5)
        final = _status_counts()
    finally:
        for w in (first, second):
            if w is not None:
                _stop(w)
        receiver.close()
        broker.close()

    raw = effects()
    report: dict[str, Any] = {
        "channel": channel, "at_kill": at_kill, "effects_at_kill": seen_at_kill, "final": final,
        "raw_effects": len(raw), "distinct": len(set(raw)),
    }
    print(f"\nworker crash: {report}")
    assert final == {MessageStatus.SENT: N}, report
    assert set(raw) == ids, report  # nothing lost, nothing foreign
    if channel == Channel.WEBHOOK:
        assert all(d.verified for d in receiver.deliveries)
        # resends in the crash window carry the same key: the receiver's effect is once per message
        assert len(raw) >= N
    else:
        # reconciliation read the file: no line written twice
        assert Counter(raw).most_common(1)[0][1] == 1 and len(raw) == N, report
