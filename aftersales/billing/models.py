from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.common.crypto import EncryptedTextField
from aftersales.common.readtime import ReadTimeCharField

from .choices import BillTo, InvoiceStatus, PaymentMethod, SequenceKind

MONEY = {"max_digits": 12, "decimal_places": 2}


class NumberSequence(models.Model):
    """The last number used per store, document kind and year. Locked (select_for_update) to take the next one,
    so numbers have no gaps and no duplicates under concurrency; the number is taken in the transaction that
    writes the document, so a rolled-back document gives its number back."""

    store = models.ForeignKey("stores.Store", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=SequenceKind.choices)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        constraints = [models.UniqueConstraint(fields=["store", "kind", "year"], name="number_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.kind}/{self.year}: {self.last}"


class Invoice(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="invoices")
    # no repair order: a sale of goods (an accessories order in the owner app, picked up at the store)
    order = models.OneToOneField(
        "workshop.RepairOrder", verbose_name=_("repair order"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="invoice",
    )
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(_("number"), max_length=30)
    year = models.PositiveSmallIntegerField(_("year"), default=0)
    seq = models.PositiveIntegerField(_("sequence"), default=0)
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=pgettext_lazy("invoice", "issued by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED)
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    discount = models.DecimalField(_("discount"), default=0, **MONEY)
    tax = models.DecimalField(_("VAT included"), default=0, **MONEY)
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=5, decimal_places=4, default=Decimal("0.13"))
    total = models.DecimalField(_("total"), **MONEY)
    authorized_total = models.DecimalField(_("authorized total"), default=0, **MONEY)
    paid_amount = models.DecimalField(_("paid"), default=0, **MONEY)
    refunded_amount = models.DecimalField(_("refunded"), default=0, **MONEY)
    credited_amount = models.DecimalField(_("credited"), default=0, **MONEY)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # an insured repair: the insurer's part is billed to the insurer, not collected from the customer
    insurer_name = models.CharField(_("insurer"), max_length=80, blank=True, default="")
    insurer_amount = models.DecimalField(_("the insurer pays"), default=0, **MONEY)
    # 保险直赔: the insurer's part is its own invoice addressed to the insurer (no repair order of its own: it bills
    # the part of ``claim_of``, the customer's invoice of the order), a receivable paid by the insurer's transfer
    bill_to = models.CharField(_("bill to"), max_length=10, choices=BillTo.choices, default=BillTo.CUSTOMER)
    claim_of = models.OneToOneField(
        "self", verbose_name=_("customer's invoice"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="insurer_invoice",
    )
    policy_number = models.CharField(_("policy number"), max_length=40, blank=True, default="")
    claim_number = models.CharField(_("claim number"), max_length=40, blank=True, default="")

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="invoice_number_unique_in_store"),
            models.CheckConstraint(condition=models.Q(paid_amount__gte=0), name="invoice_paid_not_negative"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0) & models.Q(refunded_amount__lte=models.F("paid_amount")),
                name="invoice_refunds_within_paid",
            ),
            models.CheckConstraint(
                condition=models.Q(credited_amount__gte=0) & models.Q(credited_amount__lte=models.F("total")),
                name="invoice_credits_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "status"], name="invoice_store_status_idx"),
            # the cockpit's labour rate, hours per order, accuracy and gross profit (issued in a period, per store)
            models.Index(fields=["store", "issued_at"], name="invoice_store_issued_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def to_insurer(self) -> bool:
        return self.bill_to == BillTo.INSURER

    @property
    def is_paid(self) -> bool:
        return self.status == InvoiceStatus.PAID

    @property
    def amount_due(self) -> Decimal:
        """What the customer owes after credit notes and the insurer's part (an insured repair)."""
        return max(self.total - self.credited_amount - self.insurer_amount, Decimal("0.00"))

    @property
    def customer_share(self) -> Decimal:
        """The customer's part of the total (the whole without an insurer)."""
        return self.total - self.insurer_amount

    @property
    def net_paid(self) -> Decimal:
        return self.paid_amount - self.refunded_amount

    @property
    def balance(self) -> Decimal:
        """Still to collect (negative: money to give back)."""
        return self.amount_due - self.net_paid


class InvoiceLine(models.Model):
    """A posted copy of a job's line: what was invoiced stays as it was, whatever happens to the order later."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    job = models.ForeignKey("workshop.RepairJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    job_title = models.CharField(_("job"), max_length=200)
    job_type = models.CharField(_("job type"), max_length=12)
    no_charge = models.BooleanField(_("no charge (warranty / internal)"), default=False)
    kind = models.CharField(_("kind"), max_length=10)
    code = models.CharField(_("code / part no."), max_length=40, blank=True)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    discount = models.DecimalField(_("discount"), default=0, **MONEY)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice_id", "id"]

    def __str__(self) -> str:
        return self.description


class InvoiceEvent(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("invoice event")
        verbose_name_plural = _("invoice events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.from_state}→{self.to_state}"


class CreditNote(models.Model):
    """A correction: a negative document referencing the invoice, with its own gapless sequence."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(_("number"), max_length=30)
    year = models.PositiveSmallIntegerField(_("year"))
    seq = models.PositiveIntegerField(_("sequence"))
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=pgettext_lazy("invoice", "issued by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    total = models.DecimalField(_("total"), **MONEY)  # negative
    tax = models.DecimalField(_("VAT included"), **MONEY)  # negative
    reason = ReadTimeCharField(_("reason"), max_length=300)  # as typed, or a code (an owner's cancelled app order)

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["issued_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="credit_note_number_unique_in_store"),
            models.CheckConstraint(condition=models.Q(total__lt=0), name="credit_note_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(_("method"), max_length=12, choices=PaymentMethod.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    refunded_amount = models.DecimalField(_("refunded"), default=0, **MONEY)
    received_at = models.DateTimeField(_("received at"))
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("received by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["received_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_positive"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0) & models.Q(refunded_amount__lte=models.F("amount")),
                name="payment_refunds_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"

    @property
    def refundable(self) -> Decimal:
        return self.amount - self.refunded_amount


class Refund(models.Model):
    """Money given back against one payment (never more than it), with the reason; above the threshold a manager."""

    payment = models.ForeignKey(Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.CharField(_("reason"), max_length=300)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"))
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("refunded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["refunded_at", "id"]
        permissions = [("approve_refund", "Can refund above the threshold")]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_positive")]

    def __str__(self) -> str:
        return f"-{self.amount}"


class DeliveryCredit(models.Model):
    """A manager lets an unpaid order be delivered (on credit), with the reason."""

    order = models.OneToOneField("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="delivery_credit")
    amount = models.DecimalField(_("amount on credit"), **MONEY)
    reason = models.CharField(_("reason"), max_length=300)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("granted by"), null=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(_("granted at"))

    class Meta:
        verbose_name = _("delivery on credit")
        verbose_name_plural = _("deliveries on credit")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.amount}"


class Delivery(models.Model):
    """The handover: what the advisor walked through with the customer, and the next maintenance on the card."""

    order = models.OneToOneField("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="delivery")
    delivered_at = models.DateTimeField(_("delivered at"))
    delivered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("delivered by"), null=True, on_delete=models.SET_NULL, related_name="+")
    jobs_explained = models.BooleanField(_("each job explained"), default=False)
    parts_shown = models.BooleanField(_("replaced parts shown"), default=False)
    old_parts_handed_over = models.BooleanField(_("old parts handed over"), default=False)
    warranty_explained = models.BooleanField(_("warranty scope and period explained"), default=False)
    car_state = models.CharField(_("state of the car"), max_length=300, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    next_service_date = models.DateField(_("next maintenance date"), null=True, blank=True)
    next_service_km = models.PositiveIntegerField(_("next maintenance mileage (km)"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.order_id}"


class MerchantAccount(models.Model):
    """A store's own merchant account with a payment provider (each store is paid into its own account).

    The secrets (private key, APIv3 key) are written, never shown back (the screen says whether one is set, and the
    last characters of the APIv3 key), and stored encrypted."""

    class Provider(models.TextChoices):
        WECHAT = "wechat", _("WeChat Pay")
        ALIPAY = "alipay", _("Alipay")

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="merchant_accounts")
    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    enabled = models.BooleanField(_("accept payments"), default=True)
    merchant_id = models.CharField(_("merchant number (mchid)"), max_length=32, blank=True)
    app_id = models.CharField(_("app ID"), max_length=32)
    merchant_serial = models.CharField(_("merchant certificate serial number"), max_length=64, blank=True)
    # stored encrypted (common.crypto; docs/security.md): the columns hold only ciphertext
    private_key = EncryptedTextField(_("merchant private key (PEM)"))
    api_v3_key = EncryptedTextField(_("APIv3 key"), max_length=32, blank=True)
    platform_public_key = models.TextField(_("platform public key (PEM)"))
    platform_key_id = models.CharField(_("platform public key ID"), max_length=64, blank=True)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("merchant account")
        verbose_name_plural = _("merchant accounts")
        constraints = [models.UniqueConstraint(fields=["store", "provider"], name="merchant_account_one_per_provider")]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.provider}"


class OnlinePayment(models.Model):
    """A payment the customer starts online (the pay link or the owner app); confirmed by the provider's signed
    notification, or by the sweep that asks the provider about payments whose notification never came."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the provider")
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected (to refund)")
        CLOSED = "closed", _("Not paid (closed)")

    class Channel(models.TextChoices):
        NOTIFY_ONLY = "", _("Notification only")
        WECHAT_H5 = "wechat_h5", _("WeChat Pay (mobile browser)")
        WECHAT_JSAPI = "wechat_jsapi", _("WeChat Pay (inside WeChat)")
        WECHAT_NATIVE = "wechat_native", _("WeChat Pay (QR code)")
        ALIPAY_WAP = "alipay_wap", _("Alipay (mobile)")
        ALIPAY_PAGE = "alipay_page", _("Alipay (computer)")

    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="online_payments")
    merchant = models.ForeignKey(
        MerchantAccount, verbose_name=_("merchant account"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=14, choices=Channel.choices, blank=True, default="")
    pay_url = models.CharField(_("payment address"), max_length=2000, blank=True)
    checked_at = models.DateTimeField(_("last asked the provider"), null=True, blank=True)
    out_trade_no = models.CharField(_("merchant order number"), max_length=32, unique=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    transaction_id = models.CharField(_("provider transaction number"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    payment = models.OneToOneField(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="online")

    class Meta:
        verbose_name = _("online payment")
        verbose_name_plural = _("online payments")

    def __str__(self) -> str:
        return self.out_trade_no


class ProviderRefund(models.Model):
    """Money given back through the payment platform (WeChat Pay v3 refund / Alipay trade refund) against an online
    payment: started by staff, settled when the platform says so (its answer, its refund notification, or the sweep's
    query); then the :class:`Refund` is recorded once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the provider")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Refused by the provider")

    payment = models.ForeignKey(Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="provider_refunds")
    online = models.ForeignKey(OnlinePayment, verbose_name=_("online payment"), on_delete=models.PROTECT, related_name="refunds")
    out_refund_no = models.CharField(_("merchant refund number"), max_length=32, unique=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    provider_refund_id = models.CharField(_("provider refund number"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"))
    checked_at = models.DateTimeField(_("last asked the provider"), null=True, blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="provider_refund")
    idempotency_key = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("provider refund")
        verbose_name_plural = _("provider refunds")
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="provider_refund_positive")]

    def __str__(self) -> str:
        return self.out_refund_no
