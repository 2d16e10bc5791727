from django.urls import path

from trialplanner.reminders import views

app_name = "reminders"

urlpatterns = [
    path("account/calendar/new/", views.feed_create, name="feed_create"),
    path("account/calendar/revoke/", views.feed_revoke, name="feed_revoke"),
    path("calendar/<str:token>.ics", views.feed, name="feed"),
    path("plans/<uuid:plan_uuid>/calendar.ics", views.plan_ics, name="plan_ics"),
]
