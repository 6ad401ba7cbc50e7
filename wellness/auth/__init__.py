"""Accounts, passwords, tokens and roles, and the one access-control module (guards)."""
