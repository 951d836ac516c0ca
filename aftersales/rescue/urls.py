from django.urls import path

from . import views

app_name = "rescue"

urlpatterns = [
    path("", views.board, name="board"),
    path("new/", views.case_new, name="case_new"),
    path("units/", views.units, name="units"),
    path("plan/", views.plan_apply, name="plan_apply"),
    path("alerts/<int:pk>/done/", views.alert_done, name="alert_done"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/<str:action>/", views.case_action, name="case_action"),
    path("crew/", views.crew_home, name="crew"),
    path("crew/<int:pk>/", views.crew_job, name="crew_job"),
]
