from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    A = "A", _("A loyal")
    B = "B", _("B potential")
    C = "C", _("C new")
    D = "D", _("D churn risk")


class TierReason(models.TextChoices):
    """Why a customer is in a tier: the rule of SPEC §10 that decided it (in precedence order)."""

    LAPSED = "d_lapsed", _("last paid visit 6 months ago or more")
    BOUGHT_NEVER_VISITED = "d_never_visited", _("bought a car 6 months ago or more and never visited")
    LOYAL = "a_loyal", _("recent, frequent and high spend")
    NO_VISIT = "c_no_visit", _("no paid visit yet")
    FIRST_VISIT = "c_first_visit", _("one paid visit, within the last month")
    ACTIVE = "b_active", _("active in the last 6 months")


class ChangeSource(models.TextChoices):
    NIGHTLY = "nightly", _("Nightly recompute")
    VISIT = "visit", _("Paid visit")
    MANUAL = "manual", _("Recomputed by staff")
    IMPORT = "import", _("History import")


class ValueClass(models.TextChoices):
    BASIC = "basic", _("Basic")
    KEY = "key", _("Key")
    VIP = "vip", _("VIP")


class AdvisorSource(models.TextChoices):
    MANAGER = "manager", _("Assigned by the manager")
    SUGGESTED = "suggested", _("Suggested by the system")


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


IMPORT_TRANSITIONS: dict[str, set[str]] = {
    ImportStatus.PREVIEWED: {ImportStatus.QUEUED},
    ImportStatus.QUEUED: {ImportStatus.RUNNING, ImportStatus.FAILED},
    ImportStatus.RUNNING: {ImportStatus.DONE, ImportStatus.FAILED},
    ImportStatus.DONE: set(),
    ImportStatus.FAILED: {ImportStatus.QUEUED},
}


class AutoTag(models.TextChoices):
    """Tags computed nightly (stored as customers.Tag rows with is_automatic=True and these names)."""

    NEW_CAR = "auto:new_car", _("New car (under 1 year)")
    OLD_CAR = "auto:car_over_3_years", _("Car over 3 years old")
    FREQUENT_MAINTENANCE = "auto:frequent_maintenance", _("Frequent maintenance")
    RARE_REPAIR = "auto:rare_repair", _("Rare repair")
    FAULT_PRONE = "auto:fault_prone", _("Fault-prone vehicle")
    EV_OWNER = "auto:ev_hybrid_owner", _("EV / hybrid owner")
    BIRTHDAY_MONTH = "auto:birthday_this_month", _("Birthday this month")
    INSURANCE_EXPIRING = "auto:insurance_expiring", _("Insurance expiring")
