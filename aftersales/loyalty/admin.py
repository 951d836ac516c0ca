"""Back office for loyalty configuration: store rules, voucher templates, the gift catalogue. Ledger rows are
read-only here (every change goes through the services, which keep the running balance and the lots)."""

from typing import Any

from django.contrib import admin

from .models import Gift, LoyaltySettings, PointsEntry, Referral, Voucher, VoucherTemplate


@admin.register(LoyaltySettings)
class LoyaltySettingsAdmin(admin.ModelAdmin):
    list_display = ("store", "points_per_cny", "points_per_cny_redeemed", "max_redeem_share", "expiry_months")


@admin.register(VoucherTemplate)
class VoucherTemplateAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "kind", "store", "validity_days", "per_customer_limit", "is_active")
    list_filter = ("kind", "is_active", "store")


@admin.register(Gift)
class GiftAdmin(admin.ModelAdmin):
    list_display = ("name_zh", "name_en", "store", "points_cost", "stock", "is_active")
    list_filter = ("store", "is_active")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnly):
    list_display = ("at", "customer", "store", "kind", "source", "points", "balance_after", "remaining", "expires_on")
    list_filter = ("kind", "source", "store")
    raw_id_fields = ("customer", "invoice", "reverses")


@admin.register(Voucher)
class VoucherAdmin(ReadOnly):
    list_display = ("code", "template", "customer", "store", "status", "valid_from", "valid_until", "discount")
    list_filter = ("status", "store")
    search_fields = ("code",)


@admin.register(Referral)
class ReferralAdmin(ReadOnly):
    list_display = ("created_at", "referrer", "referred", "staff", "store", "status")
    list_filter = ("status", "store")
