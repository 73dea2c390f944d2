"""The models of the randomization app."""
