"""The models of the scheduling app."""
