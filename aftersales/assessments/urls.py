from django.urls import path

from . import views

app_name = "assessments"

urlpatterns = [
    path("", views.desk_list, name="list"),
    path("new/", views.assessment_new, name="new"),
    path("rules/", views.rules, name="rules"),
    path("<int:pk>/", views.desk, name="desk"),
    path("<int:pk>/capture/", views.capture, name="capture"),
    path("<int:pk>/<str:action>/", views.desk_action, name="action"),
]
