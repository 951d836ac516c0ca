from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.crypto import EncryptedTextField
from aftersales.common.readtime import ReadTimeCharField

from .choices import AttemptOutcome, Channel, MessageStatus, Purpose, SmsProvider


class MessageTemplate(models.Model):
    """The text of one kind of message on one channel in one language; a store may override the group's."""

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.CASCADE, related_name="message_templates")
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="message_templates", help_text=_("Empty: the group's default for every store."),
    )
    kind = models.CharField(_("kind"), max_length=40)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    provider_template_code = models.CharField(
        _("provider template code"), max_length=60, blank=True,
        help_text=_("SMS providers send only pre-approved templates: the code registered with Aliyun or Tencent."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["kind", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "kind", "channel", "language"], condition=models.Q(store__isnull=True),
                name="template_unique_group_default",
            ),
            models.UniqueConstraint(fields=["store", "kind", "channel", "language"], name="template_unique_per_store"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · {self.channel} · {self.language}"


class ChannelSettings(models.Model):
    """Per-store delivery settings: SMS provider and keys, WeChat app, sender e-mail, webhook, quiet hours."""

    store = models.OneToOneField("stores.Store", on_delete=models.CASCADE, related_name="channel_settings")
    quiet_start = models.TimeField(_("quiet hours start"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=dt.time(8, 0))
    sms_provider = models.CharField(_("SMS provider"), max_length=10, choices=SmsProvider.choices, default=SmsProvider.CONSOLE)
    sms_access_key_id = models.CharField(_("SMS access key id / SecretId"), max_length=100, blank=True)
    # secrets are stored encrypted (common.crypto; docs/security.md): the column holds only ciphertext
    sms_access_key_secret = EncryptedTextField(_("SMS access key secret / SecretKey"), max_length=200, blank=True)
    sms_sign_name = models.CharField(_("SMS sign name"), max_length=40, blank=True)
    sms_sdk_app_id = models.CharField(_("SMS SDK app id (Tencent)"), max_length=40, blank=True)
    sms_region = models.CharField(_("SMS region"), max_length=40, blank=True, default="cn-hangzhou")
    sms_endpoint = models.CharField(
        _("SMS endpoint override"), max_length=200, blank=True, help_text=_("Only for testing against a local server."),
    )
    wechat_app_id = models.CharField(_("WeChat app id"), max_length=64, blank=True)
    wechat_app_secret = EncryptedTextField(_("WeChat app secret"), max_length=128, blank=True)
    wechat_api_base = models.CharField(_("WeChat API base override"), max_length=200, blank=True)
    email_from = models.CharField(_("sender e-mail"), max_length=200, blank=True)
    webhook_url = models.URLField(_("webhook URL"), blank=True)
    webhook_secret = EncryptedTextField(_("webhook signing secret"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("channel settings")
        verbose_name_plural = _("channel settings")

    def __str__(self) -> str:
        return f"{self.store}"


class Message(models.Model):
    """One message in the outbox. Written in the transaction of the business change that causes it."""

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), null=True, on_delete=models.PROTECT, related_name="messages")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="messages",
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff member"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=40)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    language = models.CharField(_("language"), max_length=10)
    recipient = models.CharField(_("recipient"), max_length=300)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    variables = models.JSONField(_("variables"), default=dict)
    provider_template_code = models.CharField(max_length=60, blank=True)
    dedup_key = models.CharField(_("deduplication key"), max_length=200, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    not_before = models.DateTimeField(_("not before"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(_("provider"), max_length=20, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    delivery_status = models.CharField(_("delivery status"), max_length=40, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_due_idx"),
            models.Index(fields=["customer", "-created_at"], name="message_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} → {self.recipient}"

    @property
    def kind_label(self) -> str:
        from .kinds import KINDS

        found = KINDS.get(self.kind)
        return str(found.label) if found else self.kind

    @property
    def status_tone(self) -> str:
        """The colour of the status chip on the staff screens: ok, warn, bad or plain."""
        return STATUS_TONES.get(self.status, "")


STATUS_TONES = {
    MessageStatus.SENT: "ok", MessageStatus.DELIVERED: "ok", MessageStatus.FAILED: "bad", MessageStatus.UNKNOWN: "warn",
    MessageStatus.SUPPRESSED: "muted", MessageStatus.CANCELLED: "muted", MessageStatus.SENDING: "info",
}


class DeliveryAttempt(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveSmallIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=12, choices=AttemptOutcome.choices)
    provider = models.CharField(_("provider"), max_length=20, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["message_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id}#{self.number} {self.outcome}"


class MessageEvent(models.Model):
    """The message's state timeline (habit 2)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id}: {self.from_state}→{self.to_state}"


class Notification(models.Model):
    """An in-app notification, shown on the staff screens (staff_user) or the customer portal (customer)."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="notification")
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class PhoneTask(models.Model):
    """The phone-call channel: instead of a send, a task for a person with a script."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="phone_task")
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="phone_tasks")
    customer = models.ForeignKey("customers.Customer", null=True, on_delete=models.CASCADE, related_name="phone_tasks")
    phone = models.CharField(_("phone"), max_length=20)
    script = models.TextField(_("script"))
    due_at = models.DateTimeField(_("due"))
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("phone task")
        verbose_name_plural = _("phone tasks")
        ordering = ["due_at"]

    def __str__(self) -> str:
        return f"{self.phone} {self.due_at:%Y-%m-%d}"
