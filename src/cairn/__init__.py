"""Cairn: environments as a service across many sites."""

__version__ = "0.1.0"
