from django.contrib import admin

from .models import RescueArea, RescueCase, RescueUnit


@admin.register(RescueArea)
class RescueAreaAdmin(admin.ModelAdmin):
    list_display = ("store", "detour_factor", "speed_kmh", "prep_minutes", "calibrated_at")


@admin.register(RescueUnit)
class RescueUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "store", "kind", "status")
    list_filter = ("store", "status")


@admin.register(RescueCase)
class RescueCaseAdmin(admin.ModelAdmin):
    list_display = ("number", "store", "incident", "status", "requested_at")
    list_filter = ("store", "status")
    readonly_fields = ("status",)
