"""The TOML configuration into typed settings (:mod:`.loader`), the ``[directories.auth]``
table and its secret references (:mod:`.auth`), and value checks whose errors name key, problem
and fix (:mod:`.checks`).
"""
