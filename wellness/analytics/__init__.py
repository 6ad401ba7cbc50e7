"""Aggregates for HR and the privacy layer every HR-facing number passes through."""
