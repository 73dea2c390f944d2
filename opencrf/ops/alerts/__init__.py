"""Alerts: rules checked every minute by the worker; each opens or updates an incident and
e-mails the administrators (see docs/operations/monitoring.md)."""
