"""Rosters, attendance imports from providers' spreadsheets, and participation certificates."""
