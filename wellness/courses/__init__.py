"""Providers, certified courses, dated offerings and sessions, enrollment and budget."""
