"""A mock identity provider speaking the Okta, Microsoft Graph and SCIM 2.0 wire protocols."""

__version__ = "0.1.0"
