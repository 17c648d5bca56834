"""The control plane under ``/_admin`` (:mod:`mock_idp.admin.views`)."""
