"""SCIM 2.0 provisioning of an employer's employees and departments (``/scim/v2``)."""
