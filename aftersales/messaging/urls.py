from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("messages/", views.message_list, name="message_list"),
    path("messages/<int:pk>/", views.message_detail, name="message_detail"),
    path("messages/<int:pk>/retry/", views.message_retry, name="message_retry"),
    path("message-templates/", views.template_list, name="template_list"),
    path("message-templates/edit/", views.template_edit, name="template_edit"),
    path("message-templates/preview/", views.template_preview, name="template_preview"),
    path("phone-tasks/", views.phone_task_list, name="phone_tasks"),
    path("phone-tasks/<int:pk>/done/", views.phone_task_done, name="phone_task_done"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("channel-settings/", views.channel_settings, name="channel_settings"),
    path("background-work/", views.background_work, name="background_work"),
    path("background-work/<int:pk>/rerun/", views.task_rerun, name="task_rerun"),
    path("m/o/<str:token>/", views.opt_out, name="opt_out"),
]
