from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat template message")
    APP = "app", _("In-app notification")
    WEBHOOK = "webhook", _("Webhook")
    PHONE = "phone", _("Phone-call task")


class Purpose(models.TextChoices):
    SERVICE = "service", _("Service (own car's status)")
    MARKETING = "marketing", _("Marketing")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", pgettext_lazy("message status", "Delivered")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown (check with provider)")
    SUPPRESSED = "suppressed", _("Not sent (no consent)")
    CANCELLED = "cancelled", _("Cancelled")


MESSAGE_TRANSITIONS: dict[str, set[str]] = {
    MessageStatus.PENDING: {MessageStatus.SENDING, MessageStatus.CANCELLED, MessageStatus.SUPPRESSED},
    MessageStatus.SENDING: {
        MessageStatus.SENT, MessageStatus.PENDING, MessageStatus.FAILED, MessageStatus.UNKNOWN,
        MessageStatus.SUPPRESSED,
    },
    MessageStatus.SENT: {MessageStatus.DELIVERED, MessageStatus.FAILED},
    MessageStatus.DELIVERED: set(),
    MessageStatus.FAILED: {MessageStatus.PENDING},  # an operator re-runs it
    MessageStatus.UNKNOWN: {MessageStatus.SENT, MessageStatus.PENDING, MessageStatus.FAILED},
    MessageStatus.SUPPRESSED: set(),
    MessageStatus.CANCELLED: set(),
}


class AttemptOutcome(models.TextChoices):
    SENT = "sent", _("Sent")
    RETRY = "retry", _("Temporary error, will retry")
    FAILED = "failed", _("Permanent error")
    GAVE_UP = "gave_up", _("Gave up after the last retry")
    RECONCILED = "reconciled", _("Found at the provider after a crash")
    UNKNOWN = "unknown", _("Crashed while sending; outcome unknown")
    DEFERRED = "deferred", _("Deferred (quiet hours)")
    SUPPRESSED = "suppressed", _("Suppressed (consent withdrawn)")


class SmsProvider(models.TextChoices):
    CONSOLE = "console", _("Console / file (demo)")
    ALIYUN = "aliyun", _("Aliyun SMS")
    TENCENT = "tencent", _("Tencent Cloud SMS")
