"""Courtesy cars (代步车): the store's fleet, bookings against a repair order with the contract out and in, the
waiting list and the do-not-lend list. Two bookings of one car never overlap: an exclusion constraint on
PostgreSQL (migration 0002) and the car row lock in ``services.courtesy_book`` everywhere."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField
from aftersales.reception.choices import DamageKind
from aftersales.stores.models import Weekday

from .choices import (
    BookingStatus,
    CarCondition,
    ChargeRoute,
    CourtesyBenefit,
    Energy,
    FeeBasis,
    OrderedVia,
    Phase,
    SupplementStatus,
    TripStatus,
    WaitStatus,
)

MONEY = {"max_digits": 10, "decimal_places": 2}


def _photo_path(instance: CourtesyPhoto, filename: str) -> str:
    return f"mobility/{instance.booking_id}/photos/{filename}"


def _signature_path(instance: CourtesyBooking, filename: str) -> str:
    return f"mobility/{instance.pk}/signature/{filename}"


class CourtesyCar(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="courtesy_cars")
    plate = models.CharField(_("plate"), max_length=16)
    vin = models.CharField(_("VIN"), max_length=17)
    model_name = models.CharField(_("model"), max_length=80)
    energy = models.CharField(_("fuel / EV"), max_length=8, choices=Energy.choices, default=Energy.FUEL)
    insurance_expires = models.DateField(_("insurance valid until"))
    condition = models.CharField(_("condition"), max_length=16, choices=CarCondition.choices, default=CarCondition.GOOD)
    mileage = models.PositiveIntegerField(_("mileage (km)"), default=0)
    fuel_rate = models.DecimalField(_("fuel / charge refill per 1% (CNY)"), default=5, **MONEY)
    late_rate = models.DecimalField(_("late return per hour started (CNY)"), default=50, **MONEY)
    day_rate = models.DecimalField(_("rent per day started (CNY)"), default=0, **MONEY)
    is_active = models.BooleanField(_("in the fleet"), default=True)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("courtesy car")
        verbose_name_plural = _("courtesy cars")
        ordering = ["store", "plate"]
        constraints = [
            models.UniqueConstraint(fields=["store", "plate"], name="courtesy_car_plate_per_store"),
            models.CheckConstraint(condition=models.Q(fuel_rate__gte=0, late_rate__gte=0), name="courtesy_car_rates_not_negative"),
            models.CheckConstraint(condition=models.Q(day_rate__gte=0), name="courtesy_car_day_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.plate} {self.model_name}"


class DoNotLend(models.Model):
    """A customer the group no longer lends cars to (unpaid damage, a licence problem, …)."""

    customer = models.OneToOneField("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="do_not_lend")
    store = models.ForeignKey("stores.Store", verbose_name=_("listed by store"), on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(_("listed at"), default=timezone.now)

    class Meta:
        verbose_name = _("do-not-lend entry")
        verbose_name_plural = _("do-not-lend list")
        ordering = ["-added_at"]

    def __str__(self) -> str:
        return str(self.customer_id)


class CourtesyBooking(models.Model):
    """One lend of one car for a time range, against a repair order; the contract out and the contract in."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="courtesy_bookings")
    car = models.ForeignKey(CourtesyCar, verbose_name=_("courtesy car"), on_delete=models.PROTECT, related_name="bookings")
    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="courtesy_bookings")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="courtesy_bookings")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("agreed return"))
    status = models.CharField(_("status"), max_length=12, choices=BookingStatus.choices, default=BookingStatus.BOOKED)
    # the benefit: a tier-A customer's free car, or a courtesy-car voucher used on this booking (given back on cancel)
    benefit = models.CharField(_("benefit"), max_length=8, choices=CourtesyBenefit.choices, blank=True, default="")
    voucher = models.ForeignKey("loyalty.Voucher", verbose_name=_("voucher"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    day_rate = models.DecimalField(_("rent per day started (CNY)"), default=0, **MONEY)
    # the contract out
    licence_number = models.CharField(_("driving licence number"), max_length=30, blank=True)
    licence_expires = models.DateField(_("licence valid until"), null=True, blank=True)
    deposit = models.DecimalField(_("deposit (CNY)"), default=0, **MONEY)
    out_mileage = models.PositiveIntegerField(_("mileage out (km)"), null=True, blank=True)
    out_energy = models.PositiveSmallIntegerField(_("fuel / charge out (%)"), null=True, blank=True)
    out_at = models.DateTimeField(_("handed out at"), null=True, blank=True)
    out_signature = models.FileField(_("signature out"), upload_to=_signature_path, blank=True)
    out_signer = models.CharField(_("signed out by"), max_length=60, blank=True)
    # the contract in
    in_mileage = models.PositiveIntegerField(_("mileage in (km)"), null=True, blank=True)
    in_energy = models.PositiveSmallIntegerField(_("fuel / charge in (%)"), null=True, blank=True)
    in_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    in_signature = models.FileField(_("signature in"), upload_to=_signature_path, blank=True)
    in_signer = models.CharField(_("signed in by"), max_length=60, blank=True)
    # return charges
    rent_charge = models.DecimalField(_("rent"), default=0, **MONEY)
    fuel_charge = models.DecimalField(_("fuel / charge"), default=0, **MONEY)
    late_charge = models.DecimalField(_("late return"), default=0, **MONEY)
    damage_charge = models.DecimalField(_("new damage"), default=0, **MONEY)
    charge_route = models.CharField(_("charges"), max_length=10, choices=ChargeRoute.choices, blank=True, default="")
    charge_job_id = models.PositiveIntegerField(null=True, blank=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("booked at"), default=timezone.now)

    class Meta:
        verbose_name = _("courtesy car booking")
        verbose_name_plural = _("courtesy car bookings")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="courtesy_booking_range"),
            models.CheckConstraint(condition=models.Q(deposit__gte=0), name="courtesy_booking_deposit"),
            models.CheckConstraint(condition=models.Q(out_energy__lte=100) & models.Q(in_energy__lte=100), name="courtesy_booking_energy"),
            # a voucher is used by one live booking at most (the voucher's row lock decides; this is the backstop)
            models.UniqueConstraint(fields=["voucher"], condition=models.Q(voucher__isnull=False) & ~models.Q(status="cancelled"),
                                    name="courtesy_booking_voucher_once"),
        ]
        indexes = [models.Index(fields=["car", "starts_at"], name="courtesy_booking_car_idx")]

    def __str__(self) -> str:
        return f"{self.car} {self.starts_at:%Y-%m-%d}"

    @property
    def total_charges(self):
        return self.rent_charge + self.fuel_charge + self.late_charge + self.damage_charge


class CourtesyBookingEvent(models.Model):
    booking = models.ForeignKey(CourtesyBooking, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("courtesy booking event")
        verbose_name_plural = _("courtesy booking events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.from_state}→{self.to_state}"


class CourtesyDamageMark(models.Model):
    """Damage on the courtesy car's outline at hand-out or at return (x, y: percent of the outline)."""

    booking = models.ForeignKey(CourtesyBooking, verbose_name=_("courtesy car booking"), on_delete=models.CASCADE, related_name="marks")
    phase = models.CharField(_("when"), max_length=4, choices=Phase.choices)
    x = models.DecimalField(_("x (%)"), max_digits=5, decimal_places=2)
    y = models.DecimalField(_("y (%)"), max_digits=5, decimal_places=2)
    kind = models.CharField(_("damage"), max_length=10, choices=DamageKind.choices, default=DamageKind.SCRATCH)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("marked at"), default=timezone.now)

    class Meta:
        verbose_name = _("courtesy car damage")
        verbose_name_plural = _("courtesy car damage")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(x__gte=0, x__lte=100, y__gte=0, y__lte=100), name="courtesy_mark_on_outline"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.x}, {self.y})"


class CourtesyPhoto(models.Model):
    booking = models.ForeignKey(CourtesyBooking, verbose_name=_("courtesy car booking"), on_delete=models.CASCADE, related_name="photos")
    phase = models.CharField(_("when"), max_length=4, choices=Phase.choices)
    image = models.FileField(_("photo"), upload_to=_photo_path)
    caption = models.CharField(_("caption"), max_length=120, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("courtesy car photo")
        verbose_name_plural = _("courtesy car photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.caption or self.image.name


class WaitlistEntry(models.Model):
    """A customer waiting for a courtesy car when none is free for the wanted time."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+")
    wanted_from = models.DateTimeField(_("wanted from"))
    wanted_until = models.DateTimeField(_("wanted until"))
    status = models.CharField(_("status"), max_length=10, choices=WaitStatus.choices, default=WaitStatus.WAITING)
    booking = models.ForeignKey(CourtesyBooking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("courtesy car waiting list entry")
        verbose_name_plural = _("courtesy car waiting list")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.wanted_from:%Y-%m-%d}"


# ---- pickup and delivery (取送车) ----------------------------------------------------------------------------------
class ServiceArea(models.Model):
    """Where the store picks up and delivers: one polygon of WGS-84 points [[lng, lat], …]."""

    store = models.OneToOneField("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="service_area")
    polygon = models.JSONField(_("area (WGS-84 points)"), default=list)
    #: where the drivers start and bring the cars (the store's gate); empty = the middle of the area
    depot_lng = models.DecimalField(_("store longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    depot_lat = models.DecimalField(_("store latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    pickup_fee = models.DecimalField(_("pickup and delivery fee (CNY)"), default=0, **MONEY)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("pickup service area")
        verbose_name_plural = _("pickup service areas")

    def __str__(self) -> str:
        return str(self.store_id)

    def depot(self) -> tuple[float, float]:
        """(lat, lng) of the store's gate, or the middle of the area's points."""
        if self.depot_lat is not None and self.depot_lng is not None:
            return float(self.depot_lat), float(self.depot_lng)
        points = self.polygon or [[0, 0]]
        return (sum(float(p[1]) for p in points) / len(points), sum(float(p[0]) for p in points) / len(points))


class Trip(models.Model):
    """A pickup and delivery of one car for one visit: requested → … → delivered, every move an event."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="trips")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="trips")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="trips")
    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="trips")
    appointment = models.ForeignKey("appointments.Appointment", verbose_name=_("appointment"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="trips")
    address = models.CharField(_("address"), max_length=200)
    lng = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    window_start = models.DateTimeField(_("pickup window from"))
    window_end = models.DateTimeField(_("pickup window until"))
    status = models.CharField(_("status"), max_length=20, choices=TripStatus.choices, default=TripStatus.REQUESTED)
    driver = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("driver"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="trips")
    eta = models.DateTimeField(_("expected arrival"), null=True, blank=True)
    planned_at = models.DateTimeField(_("planned arrival at the door"), null=True, blank=True)
    delivery_window_start = models.DateTimeField(_("delivery window from"), null=True, blank=True)
    delivery_window_end = models.DateTimeField(_("delivery window until"), null=True, blank=True)
    fee = models.DecimalField(_("pickup fee (CNY)"), default=0, **MONEY)
    fee_basis = models.CharField(_("fee"), max_length=10, choices=FeeBasis.choices, default=FeeBasis.NO_FEE)
    voucher = models.ForeignKey("loyalty.Voucher", verbose_name=_("voucher"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    fee_job_id = models.PositiveIntegerField(null=True, blank=True)
    ordered_via = models.CharField(_("ordered via"), max_length=12, choices=OrderedVia.choices)
    # the door-step handovers: reception's handover sheet, filled by the driver at pickup and again at delivery
    pickup_handover = models.ForeignKey("reception.Handover", verbose_name=_("handover at pickup"), null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    delivery_handover = models.ForeignKey("reception.Handover", verbose_name=_("handover at delivery"), null=True,
                                          blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("ordered at"), default=timezone.now)

    class Meta:
        verbose_name = _("pickup and delivery trip")
        verbose_name_plural = _("pickup and delivery trips")
        ordering = ["window_start", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(window_end__gt=models.F("window_start")), name="trip_window_order")]
        indexes = [models.Index(fields=["store", "window_start"], name="trip_store_window_idx")]

    def __str__(self) -> str:
        return f"{self.vehicle_id} {self.window_start:%Y-%m-%d %H:%M}"


class TripEvent(models.Model):
    trip = models.ForeignKey(Trip, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("trip event")
        verbose_name_plural = _("trip events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.trip_id}: {self.from_state}→{self.to_state}"


class SupplementaryCharge(models.Model):
    """Courtesy-car return charges that arrive after the repair order's invoice was issued: kept as their own
    numbered charge against the order (补充收费单), listed as outstanding until collected or waived — never lost."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    booking = models.OneToOneField(CourtesyBooking, verbose_name=_("courtesy car booking"), on_delete=models.PROTECT,
                                   related_name="supplement")
    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("number"), max_length=30, unique=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(_("status"), max_length=8, choices=SupplementStatus.choices, default=SupplementStatus.OPEN)
    method = models.CharField(_("paid by"), max_length=12, blank=True)
    reference = models.CharField(_("receipt or reason"), max_length=120, blank=True)
    settled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("raised at"), default=timezone.now)

    class Meta:
        verbose_name = _("supplementary charge")
        verbose_name_plural = _("supplementary charges")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="supplement_amount_positive")]

    def __str__(self) -> str:
        return self.number


class DriverShift(models.Model):
    """When a pickup driver works at a store on a weekday (the dispatcher's shift editor); the route plan keeps each
    driver inside that day's shift. Kept apart from the technicians' shifts, which give the workshop's capacity."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    driver = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("driver"), on_delete=models.CASCADE,
                               related_name="driver_shifts")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("starts"))
    end = models.TimeField(_("ends"))

    class Meta:
        verbose_name = _("driver shift")
        verbose_name_plural = _("driver shifts")
        ordering = ["store_id", "driver_id", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["store", "driver", "weekday"], name="driver_shift_one_per_day"),
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="driver_shift_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.driver} {self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"
