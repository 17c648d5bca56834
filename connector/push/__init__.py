"""Push mode: the SCIM 2.0 service that Okta and Entra provision into (docs/push.md).

:func:`create_app` is the Flask app; each request becomes the neutral model's changes
(:mod:`connector.push.changes`) and goes through the same run as a pulled directory.
"""

from connector.push.app import create_app
from connector.push.auth import TokenCheck

__all__ = ["TokenCheck", "create_app"]
