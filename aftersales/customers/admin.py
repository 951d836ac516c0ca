from django.contrib import admin

from .models import Consent, Customer, Tag


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "mobile", "home_store", "created_at")
    search_fields = ("name", "mobile_digits")
    readonly_fields = ("mobile_digits",)
    inlines = [ConsentInline]
    raw_id_fields = ("preferred_advisor",)


admin.site.register(Tag)
