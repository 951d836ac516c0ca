"""The owner app's own records: the SMS sign-in codes (the owner's identity is the customer; see docs/portal.md)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SignInCode(models.Model):
    """One 6-digit code sent (or pretended to be sent) to a mobile number. Only a keyed hash of the code is kept."""

    mobile = models.CharField(_("mobile"), max_length=20)
    code_hash = models.CharField(max_length=64)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), null=True, blank=True, on_delete=models.CASCADE, related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        indexes = [models.Index(fields=["mobile", "-created_at"], name="portal_code_mobile_idx")]

    def __str__(self) -> str:
        return f"{self.mobile} {self.created_at:%Y-%m-%d %H:%M}"


class InboxRead(models.Model):
    """The owner has opened this message in the app's inbox (the inbox lists every message we sent them)."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey("messaging.Message", verbose_name=_("message"), on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(_("read at"), default=timezone.now)

    class Meta:
        verbose_name = _("message read in the app")
        verbose_name_plural = _("messages read in the app")
        constraints = [models.UniqueConstraint(fields=["customer", "message"], name="portal_inbox_read_once")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.message_id}"
