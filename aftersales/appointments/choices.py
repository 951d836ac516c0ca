from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ServiceKind(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance")
    REPAIR = "repair", _("Repair")
    INSPECTION = "inspection", _("Inspection")
    OTHER = "other", pgettext_lazy("service kind", "Other")


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    ARRIVED = "arrived", _("Arrived")
    CANCELLED = "cancelled", pgettext_lazy("appointment status", "Cancelled")
    NO_SHOW = "no_show", _("No-show")


#: booked → arrived (then handed to a repair order) / cancelled / no_show; a late customer marked no-show may
#: still arrive. Rescheduling keeps the booking in "booked" (recorded as a booked → booked event).
APPOINTMENT_TRANSITIONS: dict[str, set[str]] = {
    AppointmentStatus.BOOKED: {AppointmentStatus.ARRIVED, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW},
    AppointmentStatus.ARRIVED: set(),
    AppointmentStatus.CANCELLED: set(),
    AppointmentStatus.NO_SHOW: {AppointmentStatus.ARRIVED},
}

#: statuses that hold capacity (a bay, a technician, an advisor)
HOLDING = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


class BookingChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    PORTAL = "portal", _("Portal / app")
    WALK_IN = "walk_in", _("Walk-in")


class ArrivalStatus(models.TextChoices):
    EXPECTED = "expected", _("Expected")
    ARRIVED = "arrived", _("Arrived")
    LATE = "late", _("Late")
    NO_SHOW = "no_show", _("No-show")
