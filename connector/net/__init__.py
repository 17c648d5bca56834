"""The only place for HTTP: the session and its habits (:mod:`.http`), paging (:mod:`.paging`),
authentication (:mod:`.auth`, OAuth through authlib in :mod:`.oauth`) and the settings they read
(:mod:`.settings`).  Knows nothing of providers, the store or the run.
"""
