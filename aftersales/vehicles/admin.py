from django.contrib import admin

from .models import MileageReading, Vehicle, VehicleOwnership


class ReadingInline(admin.TabularInline):
    model = MileageReading
    extra = 0


class OwnershipInline(admin.TabularInline):
    model = VehicleOwnership
    extra = 0


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ("plate", "vin", "make", "model", "owner", "current_mileage")
    search_fields = ("plate", "vin")
    raw_id_fields = ("owner",)
    inlines = [OwnershipInline, ReadingInline]
