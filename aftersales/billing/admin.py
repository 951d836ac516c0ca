from django.contrib import admin

from .models import (
    CreditNote,
    Delivery,
    DeliveryCredit,
    Invoice,
    InvoiceLine,
    NumberSequence,
    OnlinePayment,
    Payment,
    Refund,
)


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0


class CreditNoteInline(admin.TabularInline):
    model = CreditNote
    extra = 0
    raw_id_fields = ("store",)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "store", "customer", "total", "paid_amount", "refunded_amount", "credited_amount", "status", "issued_at")
    list_filter = ("store", "status")
    raw_id_fields = ("order", "customer")
    inlines = [InvoiceLineInline, PaymentInline, CreditNoteInline]


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ("payment", "amount", "reason", "refunded_at", "refunded_by")
    raw_id_fields = ("payment",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("order", "delivered_at", "delivered_by", "next_service_date", "next_service_km")
    raw_id_fields = ("order",)


admin.site.register(DeliveryCredit)
admin.site.register(NumberSequence)
admin.site.register(OnlinePayment)
