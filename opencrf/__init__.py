"""OpenCRF: electronic data capture for academic clinical research."""

__version__ = "0.1.0"
