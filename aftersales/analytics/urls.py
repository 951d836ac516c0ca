from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("cockpit/", views.dashboard, name="dashboard"),
    path("cockpit/<str:code>/", views.drill, name="drill"),
]
