"""Push the mock directory into a SCIM 2.0 service as Okta's or Entra's provisioning engine would.

:mod:`~mock_idp.push.source` reads the directory (in process, or a running mock over its
admin API), :mod:`~mock_idp.push.record` keeps what was pushed (mock id -> SCIM id and the
attributes sent), :mod:`~mock_idp.push.cycle` works out what changed and hands each change
to a vendor dialect (:mod:`~mock_idp.push.okta`, :mod:`~mock_idp.push.entra`), which sends it
through :mod:`~mock_idp.push.client`.  Imports the mock's state and ``requests`` only.
"""
