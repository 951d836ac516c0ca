"""Adapters that need no network: in-app notifications, phone-call tasks, and the console/file SMS of the demo."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from .base import Adapter, SendResult


class AppAdapter(Adapter):
    provider = "app"
    idempotent = True
    local = True

    def send(self, message: Any) -> SendResult:
        from aftersales.messaging.models import Notification

        notification, _created = Notification.objects.get_or_create(
            message=message,
            defaults={
                "staff_user_id": message.staff_user_id, "customer_id": message.customer_id,
                "title": message.subject or message.body[:60], "body": message.body,
            },
        )
        return SendResult(self.provider, f"n{notification.pk}")

    def reconcile(self, message: Any) -> SendResult | None:
        from aftersales.messaging.models import Notification

        pk = Notification.objects.filter(message=message).values_list("pk", flat=True).first()
        return SendResult(self.provider, f"n{pk}") if pk else None


class PhoneTaskAdapter(Adapter):
    provider = "phone_task"
    idempotent = True
    local = True

    def send(self, message: Any) -> SendResult:
        from aftersales.messaging.models import PhoneTask

        task, _created = PhoneTask.objects.get_or_create(
            message=message,
            defaults={
                "store_id": message.store_id, "customer_id": message.customer_id, "phone": message.recipient,
                "script": message.body, "due_at": max(message.not_before, timezone.now()),
            },
        )
        return SendResult(self.provider, f"t{task.pk}")

    def reconcile(self, message: Any) -> SendResult | None:
        from aftersales.messaging.models import PhoneTask

        pk = PhoneTask.objects.filter(message=message).values_list("pk", flat=True).first()
        return SendResult(self.provider, f"t{pk}") if pk else None


def console_path() -> Path:
    path = Path(settings.DATA_DIR) / "outbox" / "console.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


class ConsoleAdapter(Adapter):
    """The demo's SMS/WeChat provider: one JSON line per message in ``<data dir>/outbox/console.jsonl``."""

    provider = "console"
    idempotent = True  # reconcile reads the file, so a crash never writes a second line

    def send(self, message: Any) -> SendResult:
        line = json.dumps(
            {"id": message.pk, "at": timezone.now().isoformat(), "channel": message.channel, "to": message.recipient,
             "subject": message.subject, "text": message.body},
            ensure_ascii=False,
        )
        fd = os.open(console_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode())  # one write with O_APPEND: lines never interleave
        finally:
            os.close(fd)
        return SendResult(self.provider, f"console-{message.pk}")

    def reconcile(self, message: Any) -> SendResult | None:
        needle = f'{{"id": {message.pk}, '
        path = console_path()
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                if any(line.startswith(needle) for line in fh):
                    return SendResult(self.provider, f"console-{message.pk}")
        return None
