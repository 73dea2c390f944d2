"""The models of the alerts app."""
