from django.urls import path

from trialplanner.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.indication_list, name="indication_list"),
    path("sources/", views.source_list, name="source_list"),
    path("safety/", views.safety_rules, name="safety_rules"),
    path("<slug:slug>/", views.indication_detail, name="indication_detail"),
]
