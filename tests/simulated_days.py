"""Simulated days in an IdP: a starting directory, then days of random steps, played on a FakeProvider.

The property tests that sync random histories (``tests/store/test_scoped.py``,
``tests/run/test_sync_properties.py``) draw them with their own strategies,
each from its own vocabulary of steps, and play them here.

A step is ``(kind, n)`` or ``(kind, n, g)``: ``n`` names the user ``u<n>``,
``g`` the group ``g<g>`` (or, where said, picks a variant).  A step about a
user or group that is not there does nothing.

About the user ``u<n>``:

* ``suspend``, ``resume``;
* ``rename``: display name ``Renamed <n>``; with a ``g``, given name ``G<g>`` too;
* ``email``: the address becomes ``moved<n>@example.com``;
* ``take``: the address becomes one that ``u<g>`` or an account invited by hand may hold
  (:func:`taken_address`: exactly, in other letter case, or as a look-alike);
* ``same_email``: the user name becomes ``login<n>``, the address stays;
* ``garble``, ``mend``: the IdP answers the user malformed (an undocumented status), or readably again;
* ``delete``: gone, and out of every group (the IdP reports both);
* ``vanish``: gone, and the IdP reports only that, not the lists it left (:func:`vanish`);
* ``unlist``: gone from the user listing, still named in its groups' lists;
* ``join``: into ``g<g>``;
* ``leave``: out of ``g<g>``; without a ``g``, out of every group;
* ``hire``: a new user ``u<n>`` (if there is none) at ``HIRING_DOMAINS[g % 2]``,
  on an address :func:`crowded_address` spells with ``g``.

About the group ``g<g>``:

* ``new_group``: a new group ``g<5 + n>``, nested in ``g<g>`` when that is there;
* ``nest``, ``unnest``: ``g<n % 6>`` into or out of ``g<g>``;
* ``drop_group``: gone, and out of every group it was in;
* ``vanish_group``: gone, reported alone (:func:`vanish`);
* ``rename_group``: named ``Renamed group <g>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence

from builders import user
from fakes import FakeProvider

from connector.model import MemberKind

HIRING_DOMAINS = ("example.com", "partner.org")
USER_STEPS = frozenset(
    (
        "suspend",
        "resume",
        "rename",
        "email",
        "take",
        "same_email",
        "delete",
        "vanish",
        "unlist",
        "join",
        "leave",
    )
)
GROUP_STEPS = frozenset(("new_group", "nest", "unnest", "drop_group", "vanish_group", "rename_group"))


def crowded_address(n: int, domain: str, variant: int) -> str:
    """``user<n % 7>@<domain>`` (u7, u8, u9 share u0, u1, u2's); every third variant spells "user" with a
    Cyrillic "е", a look-alike."""
    return f"us{'е' if variant % 3 == 2 else 'e'}r{n % 7}@{domain}"


def taken_address(k: int) -> str:
    """An address someone may hold already (a user ``u<k>``, an account invited by hand): as it is,
    in other letter case, or as a look-alike with a Cyrillic "е"."""
    return (f"user{k}@example.com", f"USER{k}@Example.com", f"usеr{k}@example.com")[k % 3]


def build(
    provider: FakeProvider,
    people: Iterable[tuple[int, str, bool]],
    memberships: Iterable[tuple[int, int]],
    nesting: Iterable[tuple[int, int]] = (),
    *,
    groups: int,
    crowded: bool = False,
) -> None:
    """The first day: ``people`` (``n, domain, active``) join, on :func:`crowded_address` when
    ``crowded``; groups ``g0`` to ``g<groups - 1>`` ("Group <g>") open; ``memberships`` (``g, n``) put
    those of the people who are there into them; ``nesting`` (``parent, child``) nests groups."""
    for n, domain, active in people:
        email = {"email": crowded_address(n, domain, n)} if crowded else {}
        provider.put_user(user(n, domain=domain, active=active, **email))
    for g in range(groups):
        provider.put_group(f"g{g}", f"Group {g}")
    for g, n in memberships:
        if f"u{n}" in provider.users:
            provider.add_member(f"g{g}", f"u{n}")
    for parent, child in nesting:
        provider.add_member(f"g{parent}", f"g{child}", MemberKind.GROUP)


def vanish(provider: FakeProvider, object_id: str, kind: MemberKind) -> None:
    """Delete a user or group as an IdP that reports only the deletion, not the lists it left."""
    for members in provider.members.values():
        members.pop((object_id, kind), None)
    if kind is MemberKind.USER:
        del provider.users[object_id]
        provider.log.append(("user", object_id))
    else:
        del provider.groups[object_id]
        del provider.members[object_id]
        provider.log.append(("group", object_id))


def live(provider: FakeProvider, steps: Iterable[Sequence[object]]) -> None:
    """Play a day's ``steps`` in order."""
    for step in steps:
        play(provider, *step)  # type: ignore[arg-type]


def play(provider: FakeProvider, kind: str, n: int, g: int | None = None) -> None:
    """Play one step (the module's docstring says what each does)."""
    if kind in GROUP_STEPS:
        assert g is not None, f"{kind} names a group"
        _group_step(provider, kind, n, g)
    elif kind == "hire":
        assert g is not None, "hire picks the address with g"
        if f"u{n}" not in provider.users:
            domain = HIRING_DOMAINS[g % 2]
            provider.put_user(user(n, domain=domain, email=crowded_address(n, domain, g)))
    elif kind in USER_STEPS:
        if f"u{n}" in provider.users:
            _user_step(provider, kind, n, g)
    else:
        raise ValueError(f"no such step: {kind!r}")


def _group_step(provider: FakeProvider, kind: str, n: int, g: int) -> None:
    gid = f"g{g}"
    if kind == "new_group":
        provider.put_group(f"g{5 + n}", f"New group {n}")
        if gid in provider.groups:
            provider.add_member(gid, f"g{5 + n}", MemberKind.GROUP)
    elif kind in ("nest", "unnest"):
        child = f"g{n % 6}"
        if gid in provider.groups and child in provider.groups:
            if kind == "nest":
                provider.add_member(gid, child, MemberKind.GROUP)
            else:
                provider.remove_member(gid, child, MemberKind.GROUP)
    elif gid in provider.groups:
        if kind == "drop_group":
            provider.delete_group(gid)
        elif kind == "vanish_group":
            vanish(provider, gid, MemberKind.GROUP)
        else:
            provider.put_group(gid, f"Renamed group {g}")


def _user_step(provider: FakeProvider, kind: str, n: int, g: int | None) -> None:
    uid, gid = f"u{n}", f"g{g}"
    if kind == "suspend":
        provider.update_user(uid, active=False, raw_status="SUSPENDED")
    elif kind == "resume":
        provider.update_user(uid, active=True, raw_status="ACTIVE")
    elif kind == "rename":
        given = {} if g is None else {"given_name": f"G{g}"}
        provider.update_user(uid, display_name=f"Renamed {n}", **given)
    elif kind == "delete":
        provider.delete_user(uid)
    elif kind == "vanish":
        vanish(provider, uid, MemberKind.USER)
    elif kind == "unlist":
        del provider.users[uid]
        provider.log.append(("user", uid))
    elif kind == "email":
        provider.update_user(uid, email=f"moved{n}@example.com")
    elif kind == "take":
        provider.update_user(uid, email=taken_address(g or 0))
    elif kind in ("garble", "mend"):  # answered malformed (an undocumented status), or readable again
        (provider.malformed.add if kind == "garble" else provider.malformed.discard)(uid)
        provider.log.append(("user", uid))
    elif kind == "same_email":
        provider.update_user(uid, user_name=f"login{n}")
    elif kind == "leave" and g is None:
        for group_id in list(provider.members):
            provider.remove_member(group_id, uid)
    elif gid in provider.groups:
        if kind == "join":
            provider.add_member(gid, uid)
        else:
            provider.remove_member(gid, uid)
