from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, StoreMembership, User


class MembershipInline(admin.TabularInline):
    model = StoreMembership
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "dealer_group", "is_active")
    inlines = [MembershipInline]
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Aftersales"), {"fields": ("dealer_group", "display_name", "phone", "language", "skills")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
