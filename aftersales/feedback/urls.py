from django.urls import path

from . import views

app_name = "feedback"

urlpatterns = [
    path("feedback/", views.queue, name="queue"),
    path("feedback/cases/new/", views.case_new, name="case_new"),
    path("feedback/cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("feedback/cases/<int:pk>/action/", views.case_action, name="case_action"),
    path("feedback/cases/<int:pk>/photos/<int:photo_id>/", views.case_photo, name="case_photo"),
    path("feedback/followups/", views.followups, name="followups"),
    path("feedback/followups/<int:pk>/", views.followup_detail, name="followup_detail"),
    path("feedback/report/", views.report, name="report"),
    path("feedback/routing/", views.routing, name="routing"),
    # public (no login): the survey behind a signed link, the portal/app complaint and suggestion form
    path("s/<str:token>/", views.survey, name="survey"),
    path("feedback/submit/<int:store_id>/", views.public_form, name="public_form"),
]
