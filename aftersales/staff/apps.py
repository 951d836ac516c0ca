from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "aftersales.staff"
    label = "staff"
    verbose_name = _("Staff")

    def ready(self) -> None:
        from django.contrib.auth.models import Group

        from aftersales.common import authcache
        from aftersales.stores.models import Store

        from .models import ApiToken, StoreMembership, User
        from .roles import sync_roles_after_migrate

        # The cached auth contexts are forgotten on any change of a user, role, membership, store or token.
        authcache.connect_fallback(user_model=User, group_model=Group, models=(StoreMembership, Store, ApiToken))
        # Like Django's own permission creation: keep the role groups in step with the code after migrate.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="aftersales.staff.sync_roles")
