from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Category(models.TextChoices):
    OIL = "oil", _("Oil and fluids")
    FILTER = "filter", _("Filters")
    BRAKE = "brake", _("Brakes")
    TYRE = "tyre", _("Tyres and wheels")
    BATTERY = "battery", _("Batteries")
    ELECTRICAL = "electrical", _("Electrical")
    ENGINE = "engine", _("Engine")
    TRANSMISSION = "transmission", _("Transmission")
    SUSPENSION = "suspension", _("Suspension and steering")
    AIRCON = "aircon", _("Air conditioning")
    BODY = "body", _("Body and paint")
    EV = "ev", _("EV / high voltage")
    ACCESSORY = "accessory", _("Accessories")
    OTHER = "other", _("Other")


class Unit(models.TextChoices):
    PIECE = "piece", _("piece")
    SET = "set", pgettext_lazy("unit", "set")
    LITRE = "litre", _("litre")
    METRE = "metre", _("metre")
    KG = "kg", _("kg")


WHOLE_UNITS = {Unit.PIECE, Unit.SET}


class Tracking(models.TextChoices):
    NONE = "none", _("No tracking")
    BATCH = "batch", _("Batch")
    SERIAL = "serial", _("Serial number")


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    ISSUE = "issue", _("Issue to job")
    RETURN = "return", _("Return from job")
    ADJUSTMENT = "adjustment", _("Adjustment")
    STOCKTAKE = "stocktake", _("Stock-take")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    SALE = "sale", _("Sold to a customer")


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CONSUMED = "consumed", pgettext_lazy("parts", "Issued")
    RELEASED = "released", _("Released")
    EXPIRED = "expired", _("Expired")


class ReservationSource(models.TextChoices):
    APPOINTMENT = "appointment", _("Booked appointment")
    JOB = "job", _("Authorized job")
    MANUAL = "manual", _("Manual")
    SHOP = "shop", _("Order in the owner app")


class AdjustmentStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


ADJUSTMENT_TRANSITIONS: dict[str, set[str]] = {
    AdjustmentStatus.PENDING: {AdjustmentStatus.APPROVED, AdjustmentStatus.REJECTED},
    AdjustmentStatus.APPROVED: set(),
    AdjustmentStatus.REJECTED: set(),
}


class RequisitionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ORDERED = "ordered", _("On a purchase order")
    CANCELLED = "cancelled", _("Cancelled")


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent to supplier")
    PARTIAL = "partial", _("Partially received")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


PO_TRANSITIONS: dict[str, set[str]] = {
    PurchaseOrderStatus.DRAFT: {PurchaseOrderStatus.SENT, PurchaseOrderStatus.CANCELLED},
    PurchaseOrderStatus.SENT: {PurchaseOrderStatus.PARTIAL, PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED},
    PurchaseOrderStatus.PARTIAL: {PurchaseOrderStatus.PARTIAL, PurchaseOrderStatus.RECEIVED},
    PurchaseOrderStatus.RECEIVED: set(),
    PurchaseOrderStatus.CANCELLED: set(),
}


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    SHIPPED = "shipped", _("Shipped")
    RECEIVED = "received", _("Received")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


TRANSFER_TRANSITIONS: dict[str, set[str]] = {
    TransferStatus.REQUESTED: {TransferStatus.APPROVED, TransferStatus.REJECTED, TransferStatus.CANCELLED},
    TransferStatus.APPROVED: {TransferStatus.SHIPPED, TransferStatus.CANCELLED},
    TransferStatus.SHIPPED: {TransferStatus.RECEIVED},
    TransferStatus.RECEIVED: set(),
    TransferStatus.REJECTED: set(),
    TransferStatus.CANCELLED: set(),
}


class StockTakeStatus(models.TextChoices):
    OPEN = "open", _("Counting")
    COUNTED = "counted", _("Counted")
    POSTED = "posted", _("Posted")
    CANCELLED = "cancelled", _("Cancelled")


STOCKTAKE_TRANSITIONS: dict[str, set[str]] = {
    StockTakeStatus.OPEN: {StockTakeStatus.COUNTED, StockTakeStatus.CANCELLED},
    StockTakeStatus.COUNTED: {StockTakeStatus.POSTED, StockTakeStatus.CANCELLED},
    StockTakeStatus.POSTED: set(),
    StockTakeStatus.CANCELLED: set(),
}
