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


class CourtesyBenefit(models.TextChoices):
    """Why a courtesy car's rent is not charged (the return charges are charged whatever the benefit)."""

    NONE = "", _("None: rent at the car's day rate")
    TIER_A = "tier_a", _("Free for tier A customers")
    VOUCHER = "voucher", _("Courtesy car voucher")


#: the service code a courtesy-car voucher (a free service item) covers, and the code of the rent line
COURTESY_CAR_CODE = "COURTESY"


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
    SEPARATE = "separate", _("A supplementary charge (the invoice was already issued)")


# ---- pickup and delivery (取送车) ----------------------------------------------------------------------------------
class TripStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SCHEDULED = "scheduled", _("Driver scheduled")
    ON_THE_WAY = "on_the_way", _("Driver on the way")
    PICKED_UP = "picked_up", _("Picked up")
    AT_STORE = "at_store", _("At the store")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", pgettext_lazy("trip", "Cancelled")


TRIP_TRANSITIONS: dict[str, set[str]] = {
    TripStatus.REQUESTED: {TripStatus.SCHEDULED, TripStatus.CANCELLED},
    TripStatus.SCHEDULED: {TripStatus.ON_THE_WAY, TripStatus.REQUESTED, TripStatus.CANCELLED},  # unassigned again
    TripStatus.ON_THE_WAY: {TripStatus.PICKED_UP, TripStatus.CANCELLED},
    TripStatus.PICKED_UP: {TripStatus.AT_STORE},
    TripStatus.AT_STORE: {TripStatus.OUT_FOR_DELIVERY},
    TripStatus.OUT_FOR_DELIVERY: {TripStatus.DELIVERED, TripStatus.AT_STORE},  # could not hand over: back to the store
    TripStatus.DELIVERED: set(),
    TripStatus.CANCELLED: set(),
}
#: the driver's moves on the phone page, in order
DRIVER_MOVES: tuple[str, ...] = (TripStatus.ON_THE_WAY, TripStatus.PICKED_UP, TripStatus.AT_STORE,
                                 TripStatus.OUT_FOR_DELIVERY, TripStatus.DELIVERED)


class OrderedVia(models.TextChoices):
    OWNER_APP = "owner_app", _("Owner app")
    CALL_CENTRE = "call_centre", _("Call centre")
    ADVISOR = "advisor", _("Service advisor")


class FeeBasis(models.TextChoices):
    STORE_FEE = "store_fee", _("Store's pickup fee")
    TIER_A = "tier_a", _("Free for tier A customers")
    VOUCHER = "voucher", _("Pickup voucher")
    NO_FEE = "no_fee", _("The store charges no pickup fee")


#: the service code of the pickup fee line; a free-item voucher covering it makes the pickup free at the till
PICKUP_FEE_CODE = "PICKUP"


class SupplementStatus(models.TextChoices):
    OPEN = "open", _("To collect")
    PAID = "paid", pgettext_lazy("supplementary charge", "Paid")
    WAIVED = "waived", _("Waived by the manager")
