"""Adapters that talk to the world: e-mail over SMTP and signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from .base import Adapter, PermanentError, SendResult, TemporaryError

SIGNATURE_HEADER = "X-Aftersales-Signature"


class EmailAdapter(Adapter):
    """Django's SMTP backend. SMTP has no idempotency, so a crash mid-send leaves the outcome unknown (never resent)."""

    provider = "smtp"

    def send(self, message: Any) -> SendResult:
        message_id = f"<aftersales-msg-{message.pk}@{settings.AFTERSALES_MAIL_DOMAIN}>"
        email = EmailMessage(
            subject=message.subject or message.body[:60],
            body=message.body,
            from_email=self.settings.email_from or settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            headers={"Message-ID": message_id},
            connection=get_connection(timeout=15),
        )
        # the documents the dispatcher made for it (messaging.attachments), e.g. the purchase order's PDF
        for name, content, mimetype in getattr(message, "attachments", None) or []:
            email.attach(name, content, mimetype)
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"recipient refused: {exc.recipients}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryError(f"SMTP: {exc}") from exc
        return SendResult(self.provider, message_id)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``: receivers recompute it with the shared secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = parts["t"]
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


class WebhookAdapter(Adapter):
    """HTTP POST of the message as JSON, signed with HMAC-SHA256, with an Idempotency-Key receivers de-duplicate on."""

    provider = "webhook"
    idempotent = True

    def send(self, message: Any) -> SendResult:
        payload = json.dumps(
            {
                "id": message.pk, "kind": message.kind, "store_id": message.store_id, "customer_id": message.customer_id,
                "language": message.language, "subject": message.subject, "text": message.body,
                "variables": message.variables, "created_at": message.created_at.isoformat(),
            },
            ensure_ascii=False, sort_keys=True,
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": f"aftersales-msg-{message.pk}",
            "User-Agent": "Aftersales-Webhook/1",
        }
        if self.settings.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(self.settings.webhook_secret, str(int(time.time())), payload)
        if not message.recipient.startswith(("http://", "https://")):
            raise PermanentError("webhook URL must be http(s)")
        request = urllib.request.Request(message.recipient, data=payload, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (scheme checked above)
                response.read()
                return SendResult(self.provider, response.headers.get("X-Request-Id", f"webhook-{message.pk}"))
        except urllib.error.HTTPError as exc:
            if exc.code in (408, 425, 429) or exc.code >= 500:
                raise TemporaryError(f"HTTP {exc.code}") from exc
            raise PermanentError(f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise TemporaryError(str(exc)) from exc
