from django.contrib import admin

from .models import DealerGroup, Holiday, OpeningPeriod, Store


class OpeningPeriodInline(admin.TabularInline):
    model = OpeningPeriod
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "group", "time_zone", "is_active")
    inlines = [OpeningPeriodInline, HolidayInline]


admin.site.register(DealerGroup)
