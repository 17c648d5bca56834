"""The canonical directory every dialect renders: records, memberships, credentials, fixtures.

:mod:`mock_idp.state.directory` holds the :class:`~mock_idp.state.directory.Directory`.
No Flask, no HTTP: nothing here imports Flask, werkzeug or a part of :mod:`mock_idp`
outside this package.
"""
