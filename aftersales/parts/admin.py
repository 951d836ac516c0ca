from django.contrib import admin

from .models import (
    AdjustmentRequest,
    Batch,
    Part,
    PartAlias,
    PriceList,
    PriceListItem,
    Reservation,
    StockItem,
    StockMovement,
    Supplier,
)


class PartAliasInline(admin.TabularInline):
    model = PartAlias
    extra = 0


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ("number", "name_zh", "name_en", "oem_number", "category", "unit", "sale_price", "is_active")
    list_filter = ("category", "unit", "tracking", "is_active", "group")
    search_fields = ("number", "oem_number", "name_zh", "name_en", "aliases__number")
    inlines = [PartAliasInline]
    raw_id_fields = ("default_supplier",)


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 0
    raw_id_fields = ("part",)


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "group")
    inlines = [PriceListItemInline]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "contact", "phone", "lead_time_days", "is_active", "group")
    search_fields = ("name",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is written by the services only (every change is a movement row)."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(StockItem)
class StockItemAdmin(ReadOnlyAdmin):
    list_display = ("part", "store", "bin_location", "on_hand", "reserved", "avg_cost", "min_qty", "max_qty")
    list_filter = ("store",)
    search_fields = ("part__number",)
    list_select_related = ("part", "store")


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("at", "store", "part", "kind", "quantity", "balance_after", "actor")
    list_filter = ("kind", "store")
    search_fields = ("part__number",)
    list_select_related = ("part", "store", "actor")


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("part", "number", "supplier", "origin", "production_date", "warranty_until")
    search_fields = ("number", "part__number")
    raw_id_fields = ("part", "supplier")


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("part", "store", "quantity", "source", "reference", "status", "expires_at")
    list_filter = ("status", "source", "store")


@admin.register(AdjustmentRequest)
class AdjustmentRequestAdmin(ReadOnlyAdmin):
    list_display = ("part", "store", "quantity", "status", "requested_by", "requested_at")
    list_filter = ("status", "store")
