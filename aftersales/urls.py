from django.contrib import admin
from django.urls import include, path

from .api import api
from .web.urls import auth_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    *auth_urlpatterns,
    path("", include("aftersales.messaging.urls")),
    path("", include("aftersales.web.urls")),
]
