"""Microsoft Graph v1.0 under ``/v1.0``, with its OData options and delta (:mod:`mock_idp.graph.views`)."""
