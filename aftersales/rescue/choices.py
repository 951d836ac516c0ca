"""States and kinds of roadside rescue (SPEC §15): the case's and the unit's explicit transition tables."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CaseStatus(models.TextChoices):
    # opened by a telematics alert (crash, severe alarm): the call centre confirms with the owner, or dismisses it
    DRAFT = "draft", pgettext_lazy("rescue", "To confirm")
    REQUESTED = "requested", pgettext_lazy("rescue", "Requested")
    ACCEPTED = "accepted", pgettext_lazy("rescue", "Accepted")
    DISPATCHED = "dispatched", pgettext_lazy("rescue", "Unit dispatched")
    EN_ROUTE = "en_route", pgettext_lazy("rescue", "On the way")
    ON_SCENE = "on_scene", pgettext_lazy("rescue", "On scene")
    FIXED = "fixed", pgettext_lazy("rescue", "Fixed on site")
    TOWING = "towing", pgettext_lazy("rescue", "Towing")
    AT_STORE = "at_store", pgettext_lazy("rescue", "At the store")
    CLOSED = "closed", pgettext_lazy("rescue", "Closed")
    CANCELLED = "cancelled", pgettext_lazy("rescue", "Cancelled")


S = CaseStatus
CASE_TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.REQUESTED, S.CANCELLED},
    S.REQUESTED: {S.ACCEPTED, S.CANCELLED},
    S.ACCEPTED: {S.DISPATCHED, S.CANCELLED},
    # the crew accepts (on the way) or declines (back to the dispatcher)
    S.DISPATCHED: {S.EN_ROUTE, S.ACCEPTED, S.CANCELLED},
    S.EN_ROUTE: {S.ON_SCENE, S.CANCELLED},
    S.ON_SCENE: {S.FIXED, S.TOWING},
    S.FIXED: {S.CLOSED},
    S.TOWING: {S.AT_STORE},
    S.AT_STORE: {S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}
OPEN_STATES = (S.DRAFT, S.REQUESTED, S.ACCEPTED, S.DISPATCHED, S.EN_ROUTE, S.ON_SCENE, S.TOWING, S.AT_STORE, S.FIXED)
WAITING_FOR_UNIT = (S.REQUESTED, S.ACCEPTED)
ON_JOB = (S.DISPATCHED, S.EN_ROUTE, S.ON_SCENE, S.TOWING)


class Incident(models.TextChoices):
    ACCIDENT = "accident", _("Accident")
    BREAKDOWN = "breakdown", _("Breakdown")
    BATTERY = "battery", _("Flat battery")
    TYRE = "tyre", _("Flat tyre")
    FUEL = "fuel", _("Out of fuel")
    LOCKOUT = "lockout", _("Locked out")


class Source(models.TextChoices):
    APP = "app", _("Owner app")
    PHONE = "phone", _("Phone call")
    TELEMATICS = "telematics", _("Telematics alert")


class UnitKind(models.TextChoices):
    TOW_TRUCK = "tow_truck", _("Tow truck")
    SERVICE_VAN = "service_van", _("Service van")


class Capability(models.TextChoices):
    FLATBED = "flatbed", _("Flatbed towing")
    BATTERY = "battery", _("Battery jump / replacement")
    TYRE = "tyre", _("Tyre change")
    FUEL = "fuel", _("Fuel delivery")
    LOCKOUT = "lockout", _("Lock-out opening")
    REPAIR = "repair", _("Minor roadside repair")


def needed_capability(incident: str, drivable: bool | None) -> str:
    """What a unit must be able to do for this incident (an accident or a car that cannot be driven needs a flatbed)."""
    if incident == Incident.ACCIDENT or drivable is False:
        return Capability.FLATBED
    return {
        Incident.BATTERY: Capability.BATTERY, Incident.TYRE: Capability.TYRE, Incident.FUEL: Capability.FUEL,
        Incident.LOCKOUT: Capability.LOCKOUT, Incident.BREAKDOWN: Capability.REPAIR,
    }.get(incident, Capability.FLATBED)


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", pgettext_lazy("rescue unit", "Available")
    DISPATCHED = "dispatched", pgettext_lazy("rescue unit", "Dispatched")
    EN_ROUTE = "en_route", pgettext_lazy("rescue unit", "On the way")
    ON_SCENE = "on_scene", pgettext_lazy("rescue unit", "On scene")
    TOWING = "towing", pgettext_lazy("rescue unit", "Towing")
    OFF_DUTY = "off_duty", pgettext_lazy("rescue unit", "Off duty")


U = UnitStatus
UNIT_TRANSITIONS: dict[str, set[str]] = {
    U.AVAILABLE: {U.DISPATCHED, U.OFF_DUTY},
    U.DISPATCHED: {U.EN_ROUTE, U.AVAILABLE},
    U.EN_ROUTE: {U.ON_SCENE, U.AVAILABLE},
    U.ON_SCENE: {U.TOWING, U.AVAILABLE},
    U.TOWING: {U.AVAILABLE},
    U.OFF_DUTY: {U.AVAILABLE},
}
#: the unit's state that follows each case state while the unit works it
UNIT_FOR_CASE: dict[str, str] = {S.DISPATCHED: U.DISPATCHED, S.EN_ROUTE: U.EN_ROUTE, S.ON_SCENE: U.ON_SCENE, S.TOWING: U.TOWING}


class ShiftDays(models.TextChoices):
    """Which days a unit's shift runs (the day it starts: a night shift from Friday 22:00 is Friday's)."""

    WEEKDAYS = "weekdays", _("On the chosen weekdays")
    BUSINESS = "business", _("On the store's business days")
    NON_BUSINESS = "non_business", _("On the store's weekends and holidays")


class AlertKind(models.TextChoices):
    ACCEPTANCE_LATE = "acceptance_late", _("The crew has not accepted in time")
    ARRIVAL_LATE = "arrival_late", _("The unit is late on scene")
    UNASSIGNED = "unassigned", _("No unit dispatched yet")
