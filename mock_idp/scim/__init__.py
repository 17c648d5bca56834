"""The SCIM 2.0 dialect under ``/scim/v2`` (:mod:`mock_idp.scim.views`)."""
