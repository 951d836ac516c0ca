from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Energy(models.TextChoices):
    FUEL = "fuel", _("Petrol / diesel")
    EV = "ev", _("Electric")
    HYBRID = "hybrid", _("Hybrid")


class CarCondition(models.TextChoices):
    GOOD = "good", pgettext_lazy("condition", "Good")
    FAIR = "fair", pgettext_lazy("condition", "Fair")
    POOR = "poor", pgettext_lazy("condition", "Poor")
    OUT_OF_SERVICE = "out_of_service", _("Out of service")


class BookingStatus(models.TextChoices):
    BOOKED = "booked", pgettext_lazy("courtesy booking", "Booked")
    OUT = "out", _("Out with the customer")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", pgettext_lazy("courtesy booking", "Cancelled")


BOOKING_TRANSITIONS: dict[str, set[str]] = {
    BookingStatus.BOOKED: {BookingStatus.OUT, BookingStatus.CANCELLED},
    BookingStatus.OUT: {BookingStatus.RETURNED},
    BookingStatus.RETURNED: set(),
    BookingStatus.CANCELLED: set(),
}
#: bookings that hold the car for their time range (the exclusion constraint's WHERE says the same)
HOLDING_STATES: tuple[str, ...] = (BookingStatus.BOOKED, BookingStatus.OUT, BookingStatus.RETURNED)


class Phase(models.TextChoices):
    OUT = "out", _("At hand-out")
    IN = "in", _("At return")


class WaitStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    BOOKED = "booked", _("Car booked")
    CANCELLED = "cancelled", _("Withdrawn")


class ChargeRoute(models.TextChoices):
    NONE = "", _("No charges")
    ORDER = "order", _("Added to the repair order's invoice")
    SEPARATE = "separate", _("To collect separately (the invoice was already closed)")
