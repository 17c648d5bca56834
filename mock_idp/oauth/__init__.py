"""The token endpoints of the Okta, Entra ID and SCIM dialects (:mod:`mock_idp.oauth.views`)."""
