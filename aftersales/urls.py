from django.contrib import admin
from django.urls import include, path

from .api import api
from .appointments.urls import public_urlpatterns as appointments_public
from .assessments.urls import public_urlpatterns as assessments_public
from .common import media
from .portal.urls import public_urlpatterns as portal_public
from .portal.urls import shop_staff_urlpatterns as portal_shop
from .portal.urls import staff_urlpatterns as portal_staff
from .reception.urls import public_urlpatterns as reception_public
from .web.urls import auth_urlpatterns
from .web.views import ThrottledAdminLoginView

urlpatterns = [
    path("admin/login/", ThrottledAdminLoginView.as_view(), name="admin_login"),  # before the admin's own
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("media/<path:name>", media.serve, name="media"),  # private uploads: signed, expiring addresses
    path("i18n/", include("django.conf.urls.i18n")),
    *auth_urlpatterns,
    path("parts/", include("aftersales.parts.urls")),
    path("appointments/", include("aftersales.appointments.urls")),
    path("billing/", include("aftersales.billing.urls")),
    path("reception/", include("aftersales.reception.urls")),
    path("", include(reception_public)),
    path("", include(appointments_public)),
    path("app/", include("aftersales.portal.urls")),
    path("privacy/", include(portal_staff)),
    path("shop/", include(portal_shop)),
    path("", include(portal_public)),
    path("engagement/", include("aftersales.engagement.urls")),
    path("loyalty/", include("aftersales.loyalty.urls")),
    path("mobility/", include("aftersales.mobility.urls")),
    path("care/", include("aftersales.care.urls")),
    path("telematics/", include("aftersales.telematics.urls")),
    path("inspections/", include("aftersales.inspections.urls")),
    path("rescue/", include("aftersales.rescue.urls")),
    path("assessments/", include("aftersales.assessments.urls")),
    path("", include(assessments_public)),  # da/<token>/: the owner's assessment, share and photos
    path("workshop/", include("aftersales.workshop.urls")),
    path("people/", include("aftersales.people.urls")),
    path("", include("aftersales.people.public_urls")),  # kiosk/ (rating terminal), rate/<token>/ (phone)
    path("", include("aftersales.estimates.urls")),  # orders/, e/<token>/ (estimate to approve), o/<token>/ (status)
    path("", include("aftersales.messaging.urls")),
    path("", include("aftersales.feedback.urls")),
    path("", include("aftersales.analytics.urls")),
    path("", include("aftersales.web.urls")),
]

# Reorder list, purchase orders, transfers and recalls (aftersales/parts/urls_purchasing.py) are written
# alongside the parts screens: mounted when the module imports, so the project still loads while it is written.
try:
    from aftersales.parts import urls_purchasing
except ImportError:  # pragma: no cover - only while that module does not exist yet
    urls_purchasing = None
if urls_purchasing is not None:
    urlpatterns.insert(-2, path("parts/", include(urls_purchasing)))
