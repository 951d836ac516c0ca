from django.urls import path

from . import views

app_name = "care"

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("reminders/<int:pk>/action/", views.reminder_action, name="reminder_action"),
    path("runs/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("playbooks/", views.playbook_list, name="playbooks"),
    path("playbooks/new/", views.playbook_new, name="playbook_new"),
    path("playbooks/<int:pk>/", views.playbook_detail, name="playbook"),
    path("playbooks/<int:pk>/activate/", views.playbook_activate, name="playbook_activate"),
    path("playbooks/<int:pk>/deactivate/", views.playbook_deactivate, name="playbook_deactivate"),
    path("playbooks/<int:pk>/steps/", views.step_add, name="step_add"),
    path("playbooks/<int:pk>/steps/<int:step_pk>/delete/", views.step_delete, name="step_delete"),
]
