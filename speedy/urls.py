"""URLs of the demo app."""

from django.urls import path

from speedy import views

app_name = "speedy"
urlpatterns = [
    path("", views.index, name="index"),
    path("test_signals/", views.test_signals, name="test_signals"),
    path("test_logging/", views.test_logging, name="test_logging"),
    path("account/<str:name>/", views.account_transition, name="account_transition"),
]
