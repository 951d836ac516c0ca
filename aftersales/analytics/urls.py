from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("cockpit/", views.dashboard, name="dashboard"),
    path("cockpit/gross-profit/", views.gross_profit, name="gross_profit"),
    path("cockpit/targets/", views.targets, name="targets"),
    path("cockpit/forecast/", views.forecast, name="forecast"),
    path("cockpit/scorecards/", views.scorecard_list, name="scorecards"),
    path("parts/minimums/", views.min_levels, name="min_levels"),
    path("me/scorecard/", views.my_scorecard, name="my_scorecard"),
    path("cockpit/reviews/subscription/", views.review_subscription, name="review_subscription"),
    path("cockpit/reviews/m/<str:token>/", views.review_link, name="review_link"),
    path("cockpit/reviews/<str:name>.<str:fmt>", views.review_download, name="review"),
    path("cockpit/<str:code>/", views.drill, name="drill"),
]
