from django.contrib import admin

from .models import Invoice, Payment


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "store", "customer", "total", "paid_amount", "status", "issued_at")
    list_filter = ("store", "status")
    raw_id_fields = ("order", "customer")
    inlines = [PaymentInline]
