from django.urls import path

from trialplanner.outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("outcomes/", views.outcome_review, name="outcome_review"),
    path("outcomes/export.csv", views.outcome_review_csv, name="outcome_review_csv"),
]
