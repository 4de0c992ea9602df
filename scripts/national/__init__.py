"""Helpers of scripts/national_catalogue.py (national procedure catalogue)."""
