from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OrderStatus(models.TextChoices):
    """The repair order's life from check-in to delivery (SPEC §4–§8)."""

    CHECKED_IN = "checked_in", pgettext_lazy("order status", "Checked in")
    INSPECTING = "inspecting", _("Inspecting")
    ESTIMATE_SENT = "estimate_sent", _("Estimate sent")
    AUTHORIZED = "authorized", _("Authorized")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_PARTS = "waiting_parts", _("Waiting for parts")
    WAITING_AUTH = "waiting_auth", _("Waiting for authorization")
    QUALITY_CHECK = "quality_check", _("Quality check")
    READY = "ready", _("Ready for delivery")
    DELIVERED = "delivered", _("Delivered")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# Every allowed move of a repair order; anything else is refused by common.transitions.move.
ORDER_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.CHECKED_IN: {OrderStatus.INSPECTING, OrderStatus.ESTIMATE_SENT, OrderStatus.CANCELLED},
    OrderStatus.INSPECTING: {OrderStatus.ESTIMATE_SENT, OrderStatus.CANCELLED},
    # everything declined: the car goes back to the customer without work (READY), or the order is cancelled
    OrderStatus.ESTIMATE_SENT: {OrderStatus.AUTHORIZED, OrderStatus.INSPECTING, OrderStatus.READY, OrderStatus.CANCELLED},
    OrderStatus.AUTHORIZED: {OrderStatus.IN_PROGRESS, OrderStatus.ESTIMATE_SENT, OrderStatus.CANCELLED},
    OrderStatus.IN_PROGRESS: {OrderStatus.WAITING_PARTS, OrderStatus.WAITING_AUTH, OrderStatus.QUALITY_CHECK},
    OrderStatus.WAITING_PARTS: {OrderStatus.IN_PROGRESS},
    OrderStatus.WAITING_AUTH: {OrderStatus.IN_PROGRESS, OrderStatus.QUALITY_CHECK},
    OrderStatus.QUALITY_CHECK: {OrderStatus.IN_PROGRESS, OrderStatus.READY},
    OrderStatus.READY: {OrderStatus.DELIVERED, OrderStatus.IN_PROGRESS},
    OrderStatus.DELIVERED: {OrderStatus.CLOSED},
    OrderStatus.CLOSED: set(),
    OrderStatus.CANCELLED: set(),
}

# The car is at the store (the workshop board, the 30-minute progress rule and "open orders" use these).
IN_SHOP_STATES: tuple[str, ...] = (
    OrderStatus.CHECKED_IN,
    OrderStatus.INSPECTING,
    OrderStatus.ESTIMATE_SENT,
    OrderStatus.AUTHORIZED,
    OrderStatus.IN_PROGRESS,
    OrderStatus.WAITING_PARTS,
    OrderStatus.WAITING_AUTH,
    OrderStatus.QUALITY_CHECK,
    OrderStatus.READY,
)
# States in which jobs may be added or priced (before the work is finished).
EDITABLE_STATES: tuple[str, ...] = IN_SHOP_STATES[:-1]


class JobStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    AUTHORIZED = "authorized", _("Authorized")
    DECLINED = "declined", _("Declined")
    DISPATCHED = "dispatched", _("Dispatched")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", pgettext_lazy("job status", "Done")
    PASSED_QC = "passed_qc", _("Passed QC")
    REWORK = "rework", _("Rework")


JOB_TRANSITIONS: dict[str, set[str]] = {
    JobStatus.PROPOSED: {JobStatus.AUTHORIZED, JobStatus.DECLINED},
    JobStatus.DECLINED: {JobStatus.AUTHORIZED},  # the customer changed their mind
    JobStatus.AUTHORIZED: {JobStatus.DISPATCHED, JobStatus.DECLINED},
    JobStatus.DISPATCHED: {JobStatus.IN_PROGRESS, JobStatus.AUTHORIZED},  # started, or unassigned
    JobStatus.IN_PROGRESS: {JobStatus.DONE},
    JobStatus.DONE: {JobStatus.PASSED_QC, JobStatus.REWORK},
    JobStatus.REWORK: {JobStatus.IN_PROGRESS, JobStatus.DISPATCHED},
    JobStatus.PASSED_QC: {JobStatus.REWORK},
}
# Jobs whose work the customer has approved (they count toward the authorized total and the invoice).
APPROVED_JOB_STATES: tuple[str, ...] = (
    JobStatus.AUTHORIZED,
    JobStatus.DISPATCHED,
    JobStatus.IN_PROGRESS,
    JobStatus.DONE,
    JobStatus.PASSED_QC,
    JobStatus.REWORK,
)


class JobType(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance")
    REPAIR = "repair", _("Repair")
    INSPECTION = "inspection", _("Inspection")
    WARRANTY = "warranty", _("Warranty")
    INTERNAL = "internal", _("Internal")
    OTHER = "other", _("Other")


# Priced to zero for the customer; their cost is kept on the lines.
NO_CHARGE_JOB_TYPES: tuple[str, ...] = (JobType.WARRANTY, JobType.INTERNAL)


class LineKind(models.TextChoices):
    LABOUR = "labour", _("Labour")
    PART = "part", _("Part")
    FEE = "fee", _("Fee")


# ---- the workshop floor (dispatch, clocking, the board, the 30-minute progress rule) -------------------------
#: the car is being worked on or waited on at the store: the customer must hear from us at least every 30 minutes
#: of opening time (SPEC §6). "Ready" is excluded: the work is over and the customer has been told.
WORKSHOP_STATES: tuple[str, ...] = tuple(s for s in IN_SHOP_STATES if s != OrderStatus.READY)
#: jobs with work still to do (they count toward "remaining hours" for the at-risk mark)
UNFINISHED_JOB_STATES: tuple[str, ...] = (
    JobStatus.AUTHORIZED, JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.REWORK,
)
#: jobs assigned to a technician and not finished (a technician's current load)
ASSIGNED_JOB_STATES: tuple[str, ...] = (JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.REWORK)
#: orders whose authorized jobs may be dispatched and worked on
WORKING_ORDER_STATES: tuple[str, ...] = (
    OrderStatus.AUTHORIZED, OrderStatus.IN_PROGRESS, OrderStatus.WAITING_PARTS, OrderStatus.WAITING_AUTH,
    OrderStatus.QUALITY_CHECK, OrderStatus.READY,
)
#: jobs parts may be issued to (approved and not yet through QC)
PARTS_JOB_STATES: tuple[str, ...] = (
    JobStatus.AUTHORIZED, JobStatus.DISPATCHED, JobStatus.IN_PROGRESS, JobStatus.DONE, JobStatus.REWORK,
)


class ClockOffReason(models.TextChoices):
    PAUSE = "pause", _("Paused")
    SWITCH = "switch", _("Clocked on another job")
    FINISH = "finish", _("Finished")
