"""The Okta dialect: ``/api/v1/users``, ``/api/v1/groups``, ``/api/v1/logs`` (:mod:`mock_idp.okta.views`)."""
