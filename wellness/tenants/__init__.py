"""Employers (tenants), their departments, sites and employees."""
