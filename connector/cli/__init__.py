"""``idp-connector``: thin click commands over :mod:`connector.api` (:mod:`.main`,
:mod:`.directory_commands`, :mod:`.store_commands`), what they share (:mod:`.common`), and how
they speak (:mod:`.render`, :mod:`.output`; rich lives here only).  :mod:`.demo` is the one place
that starts the mock IdP.
"""
