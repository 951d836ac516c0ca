from django.urls import path

from . import views

app_name = "workshop"

urlpatterns = [
    path("board/", views.board, name="board"),
    path("board/live/", views.board_live, name="board_live"),
    path("my-jobs/", views.my_jobs, name="my_jobs"),
    path("pause/", views.pause, name="pause"),
    path("report/", views.report, name="report"),
    path("jobs/<int:pk>/dispatch/", views.dispatch, name="dispatch"),
    path("jobs/<int:pk>/start/", views.start, name="start"),
    path("jobs/<int:pk>/finish/", views.finish, name="finish"),
    path("jobs/<int:pk>/waiting-parts/", views.my_waiting_parts, name="my_waiting_parts"),
    path("jobs/<int:pk>/parts/", views.job_parts, name="job_parts"),
    path("lines/<int:pk>/keep-old-part/", views.keep_old_part, name="keep_old_part"),
    path("orders/<int:pk>/note/", views.public_note, name="public_note"),
    path("orders/<int:pk>/promised/", views.promised, name="promised"),
    path("orders/<int:pk>/waiting-parts/", views.waiting_parts, name="waiting_parts"),
]
