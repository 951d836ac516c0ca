from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")
    CREDITED = "credited", _("Credited")


# An invoice is never edited once posted; its state follows its balance (payments, refunds, credit notes).
INVOICE_TRANSITIONS: dict[str, set[str]] = {
    InvoiceStatus.ISSUED: {InvoiceStatus.PAID, InvoiceStatus.CREDITED},
    InvoiceStatus.PAID: {InvoiceStatus.ISSUED, InvoiceStatus.CREDITED},  # a refund reopens the balance
    InvoiceStatus.CREDITED: set(),
    InvoiceStatus.VOID: set(),
}


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    CARD = "card", _("Bank card")
    WECHAT = "wechat_pay", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    ONLINE = "online", _("Online (portal)")
    TRANSFER = "transfer", _("Bank transfer")
    POINTS = "points", _("Loyalty points")
    VOUCHER = "voucher", _("Voucher")


# Paid from the customer's loyalty account, only through invoice_pay_with_points / invoice_pay_with_voucher.
LOYALTY_METHODS: tuple[str, ...] = (PaymentMethod.POINTS, PaymentMethod.VOUCHER)


# Methods whose provider reference (transaction number, POS slip) must be recorded with the payment.
REFERENCE_REQUIRED: tuple[str, ...] = (
    PaymentMethod.WECHAT, PaymentMethod.ALIPAY, PaymentMethod.ONLINE, PaymentMethod.TRANSFER,
)


class BillTo(models.TextChoices):
    """Who an invoice is addressed to: the customer, or (an insured repair, 保险直赔) the insurer for its part."""

    CUSTOMER = "customer", _("Customer")
    INSURER = "insurer", pgettext_lazy("bill to", "Insurer")



class SequenceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


NUMBER_PREFIX = {SequenceKind.INVOICE: "INV", SequenceKind.CREDIT_NOTE: "CN"}

# (product rule) Refunds above this amount need a manager (billing.approve_refund).
REFUND_APPROVAL_THRESHOLD = Decimal("500.00")

# (product rule) The next maintenance after a visit, unless a maintenance plan says otherwise.
DEFAULT_SERVICE_INTERVAL_MONTHS = 6
DEFAULT_SERVICE_INTERVAL_KM = 5000


class DocumentKind(models.TextChoices):
    REPAIR_LIST = "repair_list", _("Repair list")
    QC_REPORT = "qc_report", _("Quality check report")
    WARRANTY = "warranty", _("Parts warranty cards")
    INVOICE = "invoice", _("Invoice")
    REMINDER = "reminder", _("Maintenance reminder card")
