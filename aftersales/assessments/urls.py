from django.urls import path

from . import owner_views, views

app_name = "assessments"

urlpatterns = [
    path("", views.desk_list, name="list"),
    path("new/", views.assessment_new, name="new"),
    path("rules/", views.rules, name="rules"),
    path("<int:pk>/", views.desk, name="desk"),
    path("<int:pk>/capture/", views.capture, name="capture"),
    path("<int:pk>/report.pdf", views.report_pdf, name="report"),
    path("<int:pk>/<str:action>/", views.desk_action, name="action"),
]

#: the owner's signed link (mounted at the site root, namespace assessment_owner)
public_urlpatterns = ([
    path("da/<str:token>/", owner_views.page, name="page"),
    path("da/<str:token>/report.pdf", owner_views.report, name="report"),
    path("da/<str:token>/photos/", owner_views.capture, name="capture"),
    path("da/<str:token>/photos/<int:photo_id>/", owner_views.photo, name="photo"),
], "assessment_owner")
