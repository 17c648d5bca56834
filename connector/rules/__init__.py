"""Pure decisions: what a run should change, and nothing else.

The plan and its changes (:mod:`.plan`), mapping an IdP user to the product's fields
(:mod:`.mapping`), linking identities to accounts (:mod:`.linking`), the planner
(:mod:`.planner`, :mod:`.managed_groups`), nested groups (:mod:`.nesting`), the guard
(:mod:`.guard`), product access and billing (:mod:`.billing`), the review (:mod:`.review`),
the mirror's keys, digests and overlay (:mod:`.mirror`, :mod:`.mirror_records`,
:mod:`.scoped_mirror`) and the settings they read (:mod:`.settings`).  No I/O: no SQL, no
HTTP, no terminal (``.importlinter`` holds it).
"""
