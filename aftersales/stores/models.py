from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("Unknown time zone “%(v)s”."), params={"v": value}) from exc


class DealerGroup(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)

    class Meta:
        verbose_name = _("dealer group")
        verbose_name_plural = _("dealer groups")

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    group = models.ForeignKey(DealerGroup, verbose_name=_("dealer group"), on_delete=models.PROTECT, related_name="stores")
    code = models.SlugField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_timezone])
    directions = models.TextField(_("directions"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    same_morning_reminder_hour = models.PositiveSmallIntegerField(
        _("same-morning appointment reminder at (hour)"), null=True, blank=True,
        validators=[MinValueValidator(5), MaxValueValidator(12)],
        help_text=_("Leave empty for no same-morning reminder; the day-before reminder is always sent."),
    )

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["group_id", "code"]
        permissions = [("view_all_stores", _("Can see every store of the dealer group"))]
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="store_code_unique_in_group")]

    def __str__(self) -> str:
        # A bilingual name ("广州天河店 / Guangzhou Tianhe") shows the reader's half (the active language).
        from django.utils.translation import get_language

        from aftersales.common.text import localized_name

        return localized_name(self.name, get_language() or "zh-hans")

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class SlotKind(models.TextChoices):
    REGULAR = "regular", _("Regular hours")
    EVENING = "evening", _("Evening slot")
    WEEKEND = "weekend", _("Weekend slot")


class OpeningPeriod(models.Model):
    """One opening period of a store on a weekday; a day may have several (e.g. day and evening)."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="opening_periods")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))
    kind = models.CharField(_("kind"), max_length=10, choices=SlotKind.choices, default=SlotKind.REGULAR)

    class Meta:
        verbose_name = _("opening period")
        verbose_name_plural = _("opening hours")
        ordering = ["store_id", "weekday", "opens"]
        constraints = [models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")), name="period_closes_after_opens")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class HolidayKind(models.TextChoices):
    CLOSED = "closed", _("Closed (public holiday)")
    WORKDAY = "workday", _("Working day (make-up workday)")


class Holiday(models.Model):
    """A date that differs from the weekly pattern: closed, or a make-up working day (调休)."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=HolidayKind.choices, default=HolidayKind.CLOSED)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["store_id", "date"]
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="holiday_unique_per_store_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"
