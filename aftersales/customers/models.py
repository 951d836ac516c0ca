from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales.common.models import TimeStampedModel
from aftersales.common.validators import display_mobile

from .choices import Channel, ConsentPurpose, ConsentSource, ProgressFrequency, ReminderFrequency, Title


class Customer(TimeStampedModel):
    """One person across the dealer group's stores."""

    group = models.ForeignKey("stores.DealerGroup", verbose_name=_("dealer group"), on_delete=models.PROTECT, related_name="customers")
    name = models.CharField(_("name"), max_length=60)
    title = models.CharField(_("title"), max_length=4, choices=Title.choices, blank=True, default="")
    mobile = models.CharField(_("mobile"), max_length=20, help_text=_("E.164, e.g. +8613812345678"))
    mobile_digits = models.CharField(max_length=20, editable=False)  # for "any part of the number" search
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    preferred_channel = models.CharField(_("preferred channel"), max_length=10, choices=Channel.choices, default=Channel.SMS)
    preferred_advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("preferred advisor"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="preferred_by",
    )
    home_store = models.ForeignKey(
        "stores.Store", verbose_name=_("home store"), null=True, on_delete=models.SET_NULL, related_name="home_customers"
    )
    stores = models.ManyToManyField("stores.Store", through="CustomerStore", related_name="customers", verbose_name=_("stores"))
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    wechat_openid = models.CharField(_("WeChat OpenID"), max_length=64, blank=True)
    preferences = models.CharField(_("preferences"), max_length=300, blank=True, help_text=_("e.g. drinks green tea, waits in lounge"))
    notes = models.TextField(_("notes"), blank=True)
    tags = models.ManyToManyField("Tag", verbose_name=_("tags"), blank=True, related_name="customers")
    points_balance = models.IntegerField(_("loyalty points"), default=0)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)
    # the customer's own quiet hours (set in the owner app): no marketing message in this window, on top of the store's
    quiet_start = models.TimeField(_("my quiet hours start"), null=True, blank=True)
    quiet_end = models.TimeField(_("my quiet hours end"), null=True, blank=True)
    # the customer's own choice (owner app "My data", or the advisor on their record): how often they hear from us;
    # the channel is ``preferred_channel``
    reminder_frequency = models.CharField(
        _("care reminders"), max_length=10, choices=ReminderFrequency.choices, default=ReminderFrequency.ALL)
    progress_frequency = models.CharField(
        _("progress messages during a visit"), max_length=10, choices=ProgressFrequency.choices,
        default=ProgressFrequency.EVERY_STEP)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]
        permissions = [
            ("view_full_mobile", _("Can see full mobile numbers in lists")),
            ("export_customer", _("Can export a customer's personal data")),
            ("view_incomplete", _("Can see the incomplete-records report")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["group", "mobile"], name="customer_mobile_unique_in_group"),
            models.CheckConstraint(condition=models.Q(points_balance__gte=0), name="customer_points_not_negative"),
        ]
        indexes = [
            models.Index(fields=["group", "name"], name="customer_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def greeting(self) -> str:
        """张先生 / 李女士 in Chinese, Mr 张 in English; the full name when the title is unknown."""
        surname = self.name[:1] if _is_cjk(self.name) else self.name.split()[-1] if self.name else ""
        if self.title == Title.MR:
            return gettext("Mr %(surname)s") % {"surname": surname}
        if self.title == Title.MS:
            return gettext("Ms %(surname)s") % {"surname": surname}
        return self.name

    @property
    def mobile_display(self) -> str:
        return display_mobile(self.mobile)


def _is_cjk(text: str) -> bool:
    return bool(text) and "\u4e00" <= text[0] <= "\u9fff"


class CustomerStore(models.Model):
    """The stores at which a customer is known (created there, or visited). Drives store scoping."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="store_links")
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="customer_links")
    since = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer store link")
        verbose_name_plural = _("customer store links")
        constraints = [models.UniqueConstraint(fields=["customer", "store"], name="customer_store_unique")]
        indexes = [models.Index(fields=["store", "customer"], name="custstore_store_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.store_id}"


class Consent(models.Model):
    """An append-only record of a consent given or withdrawn, with its time and source."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=10, choices=ConsentPurpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    granted = models.BooleanField(_("granted"))
    at = models.DateTimeField(_("at"))
    source = models.CharField(_("source"), max_length=10, choices=ConsentSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "purpose", "channel", "-at"], name="consent_current_idx")]

    def __str__(self) -> str:
        return f"{self.purpose}/{self.channel}={'yes' if self.granted else 'no'}"


class Tag(models.Model):
    group = models.ForeignKey("stores.DealerGroup", on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("name"), max_length=40)
    is_automatic = models.BooleanField(_("automatic"), default=False)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="tag_unique_in_group")]

    def __str__(self) -> str:
        return self.name


class AttachRequest(models.Model):
    """Another store of the group asks to know a customer (and so see their profile): the customer confirms with the
    code texted to them, or a manager approves with a reason. Until then the store sees nothing of them."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    expires_at = models.DateTimeField(_("code expires at"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    method = models.CharField(_("confirmed by"), max_length=10, blank=True)  # "code" or "manager"
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("customer attach request")
        verbose_name_plural = _("customer attach requests")
        permissions = [("approve_attach", _("Approve making a customer known at a store without their code"))]

    def __str__(self) -> str:
        return f"{self.customer_id}→{self.store_id}"
