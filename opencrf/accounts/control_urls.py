"""The control centre for administrators, under /control/ (namespace `control`).

Every view here is wrapped in `opencrf.accounts.decorators.administrator_required`:
anyone else gets a 404, as if the page did not exist.
"""

from django.urls import path

from opencrf.accounts import control_views

app_name = "control"

urlpatterns = [
    path("", control_views.control_home, name="home"),
    # The security log (security_views.py) registers its line here:
    # path("security-log/", security_views.security_log, name="security_log"),
]
