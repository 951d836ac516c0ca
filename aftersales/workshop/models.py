from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .choices import JobType, LineKind, OrderStatus


class RepairOrder(models.Model):
    """A visit: the repair order (工单). Header, jobs and lines; amounts are computed in common.money."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="repair_orders")
    number = models.CharField(_("number"), max_length=30)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="repair_orders")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="repair_orders")
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    mileage_in = models.PositiveIntegerField(_("mileage in (km)"), null=True, blank=True)
    complaint = models.TextField(_("customer's request"), blank=True)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("repair order")
        verbose_name_plural = _("repair orders")
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "number"], name="ro_number_unique_in_store")]
        indexes = [
            models.Index(fields=["customer", "-opened_at"], name="ro_customer_idx"),
            models.Index(fields=["vehicle", "-opened_at"], name="ro_vehicle_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class RepairOrderEvent(models.Model):
    order = models.ForeignKey(RepairOrder, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("repair order event")
        verbose_name_plural = _("repair order events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_state}→{self.to_state}"


class RepairJob(models.Model):
    order = models.ForeignKey(RepairOrder, verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="jobs")
    seq = models.PositiveSmallIntegerField(_("no."), default=1)
    job_type = models.CharField(_("job type"), max_length=12, choices=JobType.choices, default=JobType.REPAIR)
    title = models.CharField(_("job"), max_length=200)
    cause = models.CharField(_("cause"), max_length=300, blank=True)
    correction = models.CharField(pgettext_lazy("repair job", "correction"), max_length=300, blank=True)
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["order_id", "seq", "id"]

    def __str__(self) -> str:
        return self.title


class RepairLine(models.Model):
    """A labour, part or fee line of a job. ``order`` is kept on the line so a visit's lines load in one query."""

    order = models.ForeignKey(RepairOrder, on_delete=models.CASCADE, related_name="lines")
    job = models.ForeignKey(RepairJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("kind"), max_length=10, choices=LineKind.choices)
    code = models.CharField(_("code / part no."), max_length=40, blank=True)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=0)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        ordering = ["order_id", "id"]
        indexes = [models.Index(fields=["order"], name="line_order_idx")]

    def __str__(self) -> str:
        return self.description
