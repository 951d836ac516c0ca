from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoresConfig(AppConfig):
    name = "aftersales.stores"
    label = "stores"
    verbose_name = _("Stores")

    def ready(self) -> None:
        from aftersales.common.scoping import provide_stores

        from .models import Store

        provide_stores(Store.objects.all)  # what common.scoping reads (issue 19: common does not import stores)
