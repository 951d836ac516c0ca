from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from aftersales.common.scoping import visible_store_ids

from .models import ApiToken, StoreMembership, User
from .selectors import _permission_ids, staff_actable_by, tokens_visible_to


def grantable_roles(actor: Any) -> QuerySet[Group]:
    """Roles (groups) the actor may hand out: those holding nothing the actor lacks."""
    if actor.is_superuser:
        return Group.objects.all()
    beyond = Permission.objects.filter(group=OuterRef("pk")).exclude(pk__in=_permission_ids(actor))
    return Group.objects.exclude(Exists(beyond))


class MembershipInline(admin.TabularInline):
    model = StoreMembership
    extra = 0

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "store" and not request.user.is_superuser:
            from aftersales.stores.models import Store

            kwargs["queryset"] = Store.objects.filter(pk__in=visible_store_ids(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Staff in the admin site. A non-superuser changes only the colleagues they may act for (the token rule in
    ``staff_actable_by``) and grants only roles, permissions, stores and the dealer group they hold themself."""

    list_display = ("username", "display_name", "dealer_group", "is_active")
    inlines = [MembershipInline]
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Aftersales"), {"fields": ("dealer_group", "display_name", "phone", "language", "skills")}))

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk__in=staff_actable_by(request.user).values("pk"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return readonly
        return (*readonly, "is_superuser")

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser:
            if db_field.name == "groups":
                kwargs["queryset"] = grantable_roles(request.user)
            elif db_field.name == "user_permissions":
                kwargs["queryset"] = Permission.objects.filter(pk__in=_permission_ids(request.user)).select_related(
                    "content_type"
                )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "dealer_group" and not request.user.is_superuser:
            from aftersales.stores.models import DealerGroup

            kwargs["queryset"] = DealerGroup.objects.filter(pk=request.user.dealer_group_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "key_hash", "created_at", "created_by", "last_used_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(pk__in=tokens_visible_to(request.user).values("pk"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are issued on /tokens/ or the API, where the key is shown once
