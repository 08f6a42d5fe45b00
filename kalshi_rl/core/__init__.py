"""Shared vocabulary at the bottom of the package: exact units, domain events, errors."""
