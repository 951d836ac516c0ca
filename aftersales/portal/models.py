"""The owner app's own records: the SMS sign-in codes (the owner's identity is the customer; see docs/portal.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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


class OwnerAccount(models.Model):
    """The owner's sign-in to the app: ``epoch`` ends every session at once when it moves (account deletion);
    ``closed_at`` says when the owner deleted their account (signing in again later starts afresh)."""

    customer = models.OneToOneField("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+")
    epoch = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(_("account deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("owner account")
        verbose_name_plural = _("owner accounts")

    def __str__(self) -> str:
        return f"{self.customer_id}"


class DeletionRequest(models.Model):
    """The owner asked us to delete their personal data (PIPL art. 47). Staff apply it with the law's exceptions:
    invoices, payments and repair records stay for the statutory retention period, de-identified where possible."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        DONE = "done", _("Deleted (with the legal exceptions)")
        REFUSED = "refused", _("Refused")

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    reason = models.CharField(_("reason given"), max_length=500, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    due_at = models.DateTimeField(_("answer due by"))
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("handled by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.TextField(_("what was deleted and what was kept"), blank=True)

    class Meta:
        verbose_name = _("deletion request")
        verbose_name_plural = _("deletion requests")
        ordering = ["requested_at", "id"]
        permissions = [("handle_deletionrequest", "Can handle personal data deletion requests")]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=models.Q(status="requested"),
                                    name="portal_one_open_deletion_request"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.status}"


class ShopOrder(models.Model):
    """An accessories order the owner placed in the app's shop (docs/portal.md, "Accessories shop"): the items are
    reserved from the store's stock at once; picked up at the store (paid online through its own sale invoice) or
    fitted at the owner's next visit (a job on the open repair order, paid with that visit)."""

    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        PICKING = "picking", _("Being picked")
        READY = "ready", _("Ready for pickup")
        HANDED_OVER = "handed_over", _("Handed over")
        CANCELLED = "cancelled", pgettext_lazy("shop order", "Cancelled")
        EXPIRED = "expired", pgettext_lazy("shop order", "Expired (not paid in time)")

    class Fulfilment(models.TextChoices):
        PICKUP = "pickup", _("Pick up at the store")
        FIT = "fit", _("Fit at my next visit")

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("number"), max_length=30, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLACED)
    fulfilment = models.CharField(_("how"), max_length=8, choices=Fulfilment.choices)
    repair_order = models.ForeignKey(
        "workshop.RepairOrder", verbose_name=_("repair order"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    repair_job = models.ForeignKey(
        "workshop.RepairJob", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    appointment = models.ForeignKey(
        "appointments.Appointment", verbose_name=_("appointment"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    invoice = models.OneToOneField(
        "billing.Invoice", verbose_name=_("invoice"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("ordered at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    cancel_reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("accessories order")
        verbose_name_plural = _("accessories orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="shoporder_customer_idx"),
            models.Index(fields=["store", "status"], name="shoporder_store_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gte=0), name="shoporder_total_not_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class ShopOrderLine(models.Model):
    order = models.ForeignKey(ShopOrder, on_delete=models.CASCADE, related_name="lines")
    part = models.ForeignKey("parts.Part", verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("accessories order line")
        verbose_name_plural = _("accessories order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="shopline_quantity_positive"),
            models.UniqueConstraint(fields=["order", "part"], name="shopline_one_per_part"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"

    def shop_name(self) -> str:
        """The item's name in the reader's language (the catalogue's, as the order page and staff list show it);
        ``name`` keeps what the owner saw when ordering. Prefetch ``lines__part`` to read it without a query a line."""
        return self.part.shop_name() if self.part_id else self.name
