from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    path("", views.day_calendar, name="day"),
    path("week/", views.week_calendar, name="week"),
    path("book/", views.book, name="book"),
    path("book/form/", views.book_form, name="book_form"),
    path("arrivals/", views.arrivals, name="arrivals"),
    path("preparation/", views.preparation, name="preparation"),
    path("walk-in/", views.walk_in, name="walk_in"),
    path("<int:pk>/", views.appointment_detail, name="detail"),
    path("<int:pk>/reschedule/", views.appointment_reschedule, name="reschedule"),
    path("<int:pk>/cancel/", views.appointment_cancel, name="cancel"),
    path("<int:pk>/no-show/", views.appointment_no_show, name="no_show"),
    path("<int:pk>/arrive/", views.appointment_arrive, name="arrive"),
]

public_urlpatterns = [
    path("a/<str:token>/", views.customer_page, name="customer_page"),
]
