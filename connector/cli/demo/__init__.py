"""``idp-connector demo``: the only part of the connector that imports :mod:`mock_idp`.

:mod:`.command` is the click command; :mod:`.showcase` starts the mock IdP in this process and
runs the product against it.  ``.importlinter`` forbids the mock everywhere else.
"""
