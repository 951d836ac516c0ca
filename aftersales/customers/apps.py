from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "aftersales.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from aftersales.common.audit import provide_audit_key_choices
        from aftersales.common.scoping import provide_customer_store_links
        from aftersales.vehicles.owners import provide_owner_lookup

        from .choices import Channel, ConsentPurpose
        from .models import CustomerStore
        from .selectors import customer_get

        # what the apps below (or beside) customers read from it, provided here (issue 19: none of them imports us)
        provide_customer_store_links(CustomerStore.objects.all)  # common.scoping.restrict_customers
        provide_audit_key_choices("consent", ConsentPurpose, Channel)  # "consent.<purpose>.<channel>" in the trail
        provide_owner_lookup(customer_get)  # the vehicle API's owner check
