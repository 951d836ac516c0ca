from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField

from .choices import (
    AdjustmentStatus,
    Category,
    MovementKind,
    PurchaseOrderStatus,
    RequisitionStatus,
    ReservationSource,
    ReservationStatus,
    StockTakeStatus,
    Tracking,
    TransferStatus,
    Unit,
)

QTY = {"max_digits": 12, "decimal_places": 2}
MONEY = {"max_digits": 12, "decimal_places": 2}


class Supplier(models.Model):
    group = models.ForeignKey("stores.DealerGroup", on_delete=models.PROTECT, related_name="suppliers")
    name = models.CharField(_("name"), max_length=120)
    contact = models.CharField(_("contact person"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"), default=3)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="supplier_unique_in_group")]

    def __str__(self) -> str:
        return self.name


class Part(models.Model):
    group = models.ForeignKey("stores.DealerGroup", on_delete=models.PROTECT, related_name="parts")
    number = models.CharField(_("part number"), max_length=40)
    oem_number = models.CharField(_("OEM number"), max_length=40, blank=True, db_index=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    category = models.CharField(_("category"), max_length=15, choices=Category.choices, default=Category.OTHER)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.PIECE)
    is_oem = models.BooleanField(_("OEM part"), default=True)
    cost_price = models.DecimalField(_("standard cost"), default=0, **MONEY)
    sale_price = models.DecimalField(_("sale price"), default=0, **MONEY)
    tax_rate = models.DecimalField(_("VAT rate"), max_digits=4, decimal_places=3, default="0.130")
    warranty_months = models.PositiveSmallIntegerField(_("warranty (months)"), null=True, blank=True)
    warranty_km = models.PositiveIntegerField(_("warranty (km)"), null=True, blank=True)
    tracking = models.CharField(_("tracking"), max_length=10, choices=Tracking.choices, default=Tracking.NONE)
    default_supplier = models.ForeignKey(
        Supplier, verbose_name=_("default supplier"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)
    # the owner app's accessories shop (set by the parts manager on /parts/online/)
    sold_online = models.BooleanField(_("sold in the owner app"), default=False, db_index=True)
    online_price = models.DecimalField(_("online price"), null=True, blank=True, **MONEY)
    online_description_zh = models.TextField(_("description for owners (Chinese)"), max_length=1000, blank=True)
    online_description_en = models.TextField(_("description for owners (English)"), max_length=1000, blank=True)
    online_photo = models.FileField(_("photo"), upload_to="parts/online/", blank=True)

    class Meta:
        verbose_name = _("part")
        verbose_name_plural = _("parts")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["group", "number"], name="part_number_unique_in_group"),
            models.CheckConstraint(condition=models.Q(sale_price__gte=0) & models.Q(cost_price__gte=0), name="part_prices_not_negative"),
            models.CheckConstraint(
                condition=models.Q(sold_online=False) | models.Q(online_price__gt=0), name="part_sold_online_has_price"
            ),
        ]

    def __str__(self) -> str:
        """The number and the name in the reader's language (the English name when reading English and it is set)."""
        from django.utils.translation import get_language

        english = (get_language() or "").startswith("en")
        return f"{self.number} {self.name_en if english and self.name_en else self.name_zh}"

    def shop_name(self) -> str:
        """The name an owner reads, in their language."""
        from django.utils.translation import get_language

        english = (get_language() or "").startswith("en")
        return self.name_en if english and self.name_en else self.name_zh

    def shop_description(self) -> str:
        from django.utils.translation import get_language

        english = (get_language() or "").startswith("en")
        return self.online_description_en if english and self.online_description_en else self.online_description_zh


class PartAlias(models.Model):
    """An interchangeable number: the OEM's, or an aftermarket equivalent's (brand + number)."""

    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="aliases")
    number = models.CharField(_("number"), max_length=40, db_index=True)
    brand = models.CharField(_("brand"), max_length=60, blank=True)
    is_oem = models.BooleanField(_("OEM"), default=False)

    class Meta:
        verbose_name = _("interchangeable number")
        verbose_name_plural = _("interchangeable numbers")
        constraints = [models.UniqueConstraint(fields=["part", "number", "brand"], name="alias_unique_per_part")]

    def __str__(self) -> str:
        return f"{self.brand} {self.number}".strip()


class PriceList(models.Model):
    """Sale prices per customer type (retail, fleet, insurance, internal...); absent items use the part's price."""

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.CASCADE, related_name="price_lists")
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="pricelist_unique_in_group")]

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="+")
    price = models.DecimalField(_("price"), **MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["price_list", "part"], name="pricelist_item_unique")]

    def __str__(self) -> str:
        return f"{self.price_list_id}:{self.part_id}={self.price}"


class StockItem(models.Model):
    """A part at a store: its bin, reorder rule, moving-average cost, and the on-hand and reserved quantities.

    ``on_hand`` is the running sum of the ledger (StockMovement), updated under this row's lock in the same
    transaction as the movement; ``reserved`` is the sum of active reservations. Both are checked ≥ 0 by the database.
    """

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="stock_items")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="stock_items")
    bin_location = models.CharField(_("bin"), max_length=20, blank=True)
    on_hand = models.DecimalField(_("on hand"), default=0, **QTY)
    reserved = models.DecimalField(_("reserved"), default=0, **QTY)
    avg_cost = models.DecimalField(_("average cost"), max_digits=14, decimal_places=4, default=0)
    min_qty = models.DecimalField(_("reorder at (min)"), default=0, **QTY)
    max_qty = models.DecimalField(_("order up to (max)"), default=0, **QTY)
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"), null=True, blank=True)
    last_movement_at = models.DateTimeField(_("last movement"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock item")
        verbose_name_plural = _("stock")
        constraints = [
            models.UniqueConstraint(fields=["store", "part"], name="stock_item_unique"),
            models.CheckConstraint(condition=models.Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=models.Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=models.Q(max_qty__gte=models.F("min_qty")), name="stock_max_at_least_min"),
        ]

    def __str__(self) -> str:
        return f"{self.part_id}@{self.store_id}: {self.on_hand}"

    @property
    def available(self):
        return self.on_hand - self.reserved


class Batch(models.Model):
    """A received batch, or one serial-numbered unit: where it came from and its warranty (配件溯源)."""

    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="batches")
    number = models.CharField(_("batch / serial number"), max_length=60)
    supplier = models.ForeignKey(Supplier, verbose_name=_("supplier"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    origin = models.CharField(_("origin"), max_length=60, blank=True)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    warranty_until = models.DateField(_("warranty until"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        constraints = [models.UniqueConstraint(fields=["part", "number"], name="batch_unique_per_part")]

    def __str__(self) -> str:
        return f"{self.part_id}/{self.number}"


class StockMovement(models.Model):
    """The ledger: every change of stock is one row; nothing else changes on-hand."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="movements")
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("movement"), max_length=15, choices=MovementKind.choices)
    quantity = models.DecimalField(_("quantity"), **QTY)  # signed: + in, − out
    unit_cost = models.DecimalField(_("unit cost"), max_digits=14, decimal_places=4, default=0)
    balance_after = models.DecimalField(_("on hand after"), **QTY)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(_("reason"), max_length=300, blank=True)
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), null=True, blank=True, on_delete=models.PROTECT, related_name="movements")
    # what the movement was for (traceability: an issued part → job → vehicle → customer)
    repair_job = models.ForeignKey(
        "workshop.RepairJob", verbose_name=_("job"), null=True, blank=True, on_delete=models.PROTECT, related_name="part_movements"
    )
    vehicle = models.ForeignKey("vehicles.Vehicle", null=True, blank=True, on_delete=models.PROTECT, related_name="part_movements")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    po_line = models.ForeignKey("PurchaseOrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="receipts")
    transfer = models.ForeignKey("Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="movements")

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["stock_item", "-at"], name="movement_item_idx"),
            models.Index(fields=["part", "-at", "-id"], name="movement_part_idx"),  # a part's latest movements
            models.Index(fields=["batch"], name="movement_batch_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} of {self.part_id}@{self.store_id}"


class Reservation(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="reservations")
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.DecimalField(_("quantity"), **QTY)
    source = models.CharField(_("for"), max_length=12, choices=ReservationSource.choices)
    reference = models.CharField(_("reference"), max_length=60, help_text=_("e.g. appointment:42 or job:17"))
    status = models.CharField(_("status"), max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="reservation_expiry_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="reservation_quantity_positive"),
            models.UniqueConstraint(
                fields=["stock_item", "reference"], condition=models.Q(status="active"), name="one_active_reservation_per_ref"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.part_id} for {self.reference}"


class AdjustmentRequest(models.Model):
    """An adjustment above the approval threshold waits for a manager; below it, it is applied at once."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), **QTY)
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(_("status"), max_length=10, choices=AdjustmentStatus.choices, default=AdjustmentStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    movement = models.OneToOneField(StockMovement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("adjustment request")
        verbose_name_plural = _("adjustment requests")
        ordering = ["-requested_at"]
        permissions = [("approve_adjustment", _("Can approve stock adjustments above the threshold"))]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.part_id} ({self.status})"


class PartsEvent(models.Model):
    """State timeline for adjustment requests, purchase orders, transfers and stock-takes (habit 2)."""

    adjustment = models.ForeignKey(AdjustmentRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    purchase_order = models.ForeignKey("PurchaseOrder", null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    transfer = models.ForeignKey("Transfer", null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    stocktake = models.ForeignKey("StockTake", null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state}→{self.to_state}"


class PurchaseRequisition(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), **QTY)
    status = models.CharField(_("status"), max_length=10, choices=RequisitionStatus.choices, default=RequisitionStatus.OPEN)
    is_automatic = models.BooleanField(_("automatic (below minimum)"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    po_line = models.ForeignKey("PurchaseOrderLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="requisitions")

    class Meta:
        verbose_name = _("purchase requisition")
        verbose_name_plural = _("purchase requisitions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "part"], condition=models.Q(status="open"), name="one_open_requisition_per_part")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.part_id}@{self.store_id}"


class PurchaseOrder(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey(Supplier, verbose_name=_("supplier"), on_delete=models.PROTECT, related_name="purchase_orders")
    number = models.CharField(_("number"), max_length=30)
    status = models.CharField(_("status"), max_length=10, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    expected_on = models.DateField(_("expected on"), null=True, blank=True)

    class Meta:
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["store", "number"], name="po_number_unique_in_store")]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("ordered"), **QTY)
    received = models.DecimalField(_("received"), default=0, **QTY)
    unit_cost = models.DecimalField(_("unit cost"), **MONEY)

    class Meta:
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="po_line_quantity_positive"),
            models.CheckConstraint(condition=models.Q(received__lte=models.F("quantity")), name="po_line_no_over_receipt"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.part_id}"


class Transfer(models.Model):
    """A special part moved between two stores of the group; the elapsed time is measured (target: −50%)."""

    from_store = models.ForeignKey("stores.Store", verbose_name=_("from store"), on_delete=models.PROTECT, related_name="+")
    to_store = models.ForeignKey("stores.Store", verbose_name=_("to store"), on_delete=models.PROTECT, related_name="+")
    part = models.ForeignKey(Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), **QTY)
    status = models.CharField(_("status"), max_length=10, choices=TransferStatus.choices, default=TransferStatus.REQUESTED)
    for_job = models.ForeignKey(
        "workshop.RepairJob", verbose_name=_("for job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(from_store=models.F("to_store")), name="transfer_between_two_stores"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="transfer_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.part_id}: {self.from_store_id}→{self.to_store_id}"


class StockTake(models.Model):
    """A stock-take (盘点) at one store: quantities snapshotted at the start, counted, then posted as STOCKTAKE
    ledger rows of (counted − snapshot) each, so movements during the count are kept. One open per store."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=StockTakeStatus.choices, default=StockTakeStatus.OPEN)
    category = models.CharField(_("category"), max_length=15, choices=Category.choices, blank=True)
    bin_prefix = models.CharField(_("bins starting with"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock-take")
        verbose_name_plural = _("stock-takes")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store"], condition=models.Q(status__in=["open", "counted"]), name="one_open_stocktake_per_store"
            )
        ]

    def __str__(self) -> str:
        return f"stock-take {self.pk}@{self.store_id} ({self.status})"


class StockTakeLine(models.Model):
    stock_take = models.ForeignKey(StockTake, on_delete=models.CASCADE, related_name="lines")
    stock_item = models.ForeignKey(StockItem, verbose_name=_("stock item"), on_delete=models.PROTECT, related_name="+")
    system_qty = models.DecimalField(_("on hand at start"), **QTY)
    counted_qty = models.DecimalField(_("counted"), null=True, blank=True, **QTY)
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    movement = models.OneToOneField(StockMovement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("stock-take line")
        verbose_name_plural = _("stock-take lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["stock_take", "stock_item"], name="stocktake_line_unique"),
            models.CheckConstraint(condition=models.Q(counted_qty__gte=0) | models.Q(counted_qty__isnull=True),
                                   name="stocktake_counted_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.stock_item_id}: {self.system_qty} → {self.counted_qty}"

    @property
    def difference(self):
        return None if self.counted_qty is None else self.counted_qty - self.system_qty
