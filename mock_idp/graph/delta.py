"""Graph delta queries over the directory's change log (GRAPH-DOCS ``concepts/delta-query-*.md``).

A round is either the *initial* one (no token: every object, paged) or a
*change* round (the objects touched by change-log entries after the token's
position).  Both end with a ``$deltatoken`` that records the log position the
round saw, so the next round returns exactly what changed since.  Pages inside
a round carry a ``$skiptoken``: the initial round pages by object id (keyset,
see :func:`_by_id`), a change round pins its window of sequence numbers, so
changes landing mid-round come in the next round and nobody is skipped.

Tokens are opaque: urlsafe base64 of compact JSON, then a dot and an HMAC
keyed by the tenant, so a garbled or foreign token is detected.  They carry
the ``$select`` and the ``$filter=id eq …`` scope of the first request, as
Graph's do.

An object gone from the directory is ``{"id": …, "@removed": {"reason": …}}``:
``changed`` for a user in the deleted items (soft-deleted, restorable), ``deleted``
once it is gone for good (protocols file §2.6; GRAPH-DOCS ``user-delta.md``).  A
restored user comes back as the whole object.  The state of the object when the
page is made decides, so a delete and a restore in one window cancel out.

Refusals, following the protocols file §2.6:

* a garbled, tampered or foreign token (or one naming a log position this
  directory never reached) is **400** ``syncStateNotFound``;
* an expired token, older than 7 days by the directory clock, or older than
  the oldest retained change-log entry, is **410 Gone** ``resyncRequired``
  with a ``Location`` holding the delta URL with an empty ``$deltatoken``,
  which starts a full sync again.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from mock_idp.state.directory import Directory

Kind = Literal["users", "groups"]
TOKEN_LIFETIME_SECONDS = 7 * 24 * 3600
_ID_CLAUSE = re.compile(r"^\s*id\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)
REMOVED = {"reason": "deleted"}
SOFT_REMOVED = {"reason": "changed"}  # a user in the deleted items, still restorable


class DeltaError(Exception):
    """A delta request Graph refuses; ``location`` is set on 410 Gone."""

    def __init__(self, status: int, code: str, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.location = location


@dataclass(frozen=True)
class DeltaState:
    """Where a delta client stands: decoded from, and encoded into, the tokens.

    ``start``/``end`` are change-log sequence numbers: a change round covers
    ``start < seq <= end``; the initial round has ``initial`` set and ``end``
    is the position it will hand on.  ``offset`` is the page position inside
    a change round; ``after`` is the last id the initial round has sent.
    """

    kind: Kind
    start: int
    end: int
    initial: bool
    offset: int = 0
    select: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    issued: float = 0.0
    after: str = ""


@dataclass
class DeltaPage:
    """One page: the objects, then either the next page's state or the deltaLink's."""

    value: list[dict[str, Any]] = field(default_factory=list)
    next_state: DeltaState | None = None
    delta_state: DeltaState | None = None


def _key(directory: Directory) -> bytes:
    return hashlib.sha256(f"graph-delta:{directory.tenant_id}:{directory.seed}".encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_token(directory: Directory, state: DeltaState) -> str:
    """An opaque, signed token for ``state``."""
    payload = {
        "k": state.kind,
        "s": state.start,
        "e": state.end,
        "i": state.initial,
        "o": state.offset,
        "sel": list(state.select) if state.select is not None else None,
        "ids": list(state.ids) if state.ids is not None else None,
        "t": state.issued,
        "a": state.after,
    }
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    sig = hmac.new(_key(directory), body, hashlib.sha256).digest()[:12]
    return f"{_b64(body)}.{_b64(sig)}"


def decode_token(directory: Directory, token: str, kind: Kind, gone_location: str) -> DeltaState:
    """The state in ``token``; raises :class:`DeltaError` (400 or 410, see the module doc)."""
    not_found = DeltaError(
        400, "syncStateNotFound", "The sync state generation is not found or is not valid for this request."
    )
    try:
        body_part, sig_part = token.split(".")
        body = _unb64(body_part)
        sig = _unb64(sig_part)
        if not hmac.compare_digest(sig, hmac.new(_key(directory), body, hashlib.sha256).digest()[:12]):
            raise not_found
        data = json.loads(body)
        state = DeltaState(
            kind=data["k"],
            start=int(data["s"]),
            end=int(data["e"]),
            initial=bool(data["i"]),
            offset=int(data["o"]),
            select=tuple(data["sel"]) if data["sel"] is not None else None,
            ids=tuple(data["ids"]) if data["ids"] is not None else None,
            issued=float(data["t"]),
            after=str(data["a"]),
        )
    except (ValueError, KeyError, TypeError):
        raise not_found from None
    if state.kind != kind or state.end > directory.last_seq or state.start > state.end:
        raise not_found
    age = directory.clock_now().timestamp() - state.issued
    oldest = directory.changes[0].seq if directory.changes else 1
    if age > TOKEN_LIFETIME_SECONDS or (not state.initial and state.start + 1 < oldest):
        raise DeltaError(
            410,
            "resyncRequired",
            "The delta token has expired; start a full synchronization with the Location URL.",
            location=gone_location,
        )
    return state


def open_round(directory: Directory, state: DeltaState) -> DeltaState:
    """The change round a ``$deltatoken`` starts: from its position to the log's end now."""
    return _replace(state, end=directory.last_seq, offset=0)


def scope_ids(filter_text: str) -> tuple[str, ...]:
    """The ids of a delta ``$filter=id eq '…' or id eq '…'``, the only filter delta takes."""
    ids = []
    for clause in _OR.split(filter_text.strip()):
        match = _ID_CLAUSE.match(clause)
        if match is None:
            raise DeltaError(
                400,
                "Request_UnsupportedQuery",
                f"Unsupported query filter for delta: {filter_text!r}; only \"id eq '...'\" joined by 'or'.",
            )
        ids.append(match.group(1))
    return tuple(ids)


def start_state(
    directory: Directory,
    kind: Kind,
    select: tuple[str, ...] | None,
    ids: tuple[str, ...] | None,
    *,
    latest: bool = False,
) -> DeltaState:
    """The state of a request without a token: the initial round, or (``latest``) no round at all."""
    seq = directory.last_seq
    return DeltaState(
        kind, seq, seq, initial=not latest, select=select, ids=ids, issued=directory.clock_now().timestamp()
    )


Render = Callable[[Any, "tuple[str, ...] | None"], dict[str, Any]]


def run(
    directory: Directory,
    state: DeltaState,
    page_size: int,
    render: Render,
    member_refs: Callable[[Any], list[dict[str, Any]]],
) -> DeltaPage:
    """One page of the round ``state`` is in.

    ``render(obj, select)`` gives the Graph JSON of a user or group;
    ``member_refs(group)`` the ``members@delta`` entries of a group's full
    member list (initial round).  In change rounds a group's ``members@delta``
    holds the net membership changes of the window.
    """
    wants_members = state.kind == "groups" and (state.select is None or "members" in state.select)
    select = None if state.select is None else tuple(p for p in state.select if p != "members")
    with directory.lock:
        if state.initial:
            ordered, ids = _by_id(directory, state.kind)
            first = bisect.bisect_right(ids, state.after) if state.after else 0
            wanted = set(state.ids) if state.ids is not None else None
            window = []
            position = first
            while position < len(ordered) and len(window) < page_size:
                if wanted is None or ordered[position].object_id in wanted:
                    window.append(ordered[position])
                position += 1
            value = []
            for obj in window:
                item = render(obj, select)
                if wants_members:
                    item["members@delta"] = member_refs(obj)
                value.append(item)
            if position < len(ordered) and window:
                return DeltaPage(value, next_state=_replace(state, after=window[-1].object_id))
            total = 0
        else:
            changed = _changed(directory, state)
            total = len(changed)
            value = [
                _changed_item(directory, state.kind, object_id, members, select, wants_members, render)
                for object_id, members in changed[state.offset : state.offset + page_size]
            ]
    offset = state.offset + page_size
    if offset < total:
        return DeltaPage(value, next_state=_replace(state, offset=offset))
    done = DeltaState(
        state.kind,
        state.end,
        state.end,
        initial=False,
        select=state.select,
        ids=state.ids,
        issued=directory.clock_now().timestamp(),
    )
    return DeltaPage(value, delta_state=done)


def _by_id(directory: Directory, kind: Kind) -> tuple[tuple[Any, ...], list[str]]:
    """The objects in id order, and their ids.  The initial round pages by id
    (keyset), so deletions and creations during the round never shift a page:
    nothing that existed throughout is skipped, and whatever changed comes
    again in the next round (it starts where the initial one started)."""

    def build() -> tuple[tuple[Any, ...], list[str]]:
        snapshot = directory.users_snapshot() if kind == "users" else directory.groups_snapshot()
        ordered = tuple(sorted(snapshot, key=lambda o: o.object_id))
        return ordered, [o.object_id for o in ordered]

    return directory.cached(("graph-delta", kind), build)


def _replace(state: DeltaState, **changes: Any) -> DeltaState:
    data = {**state.__dict__, **changes}
    return DeltaState(**data)


def _changed(directory: Directory, state: DeltaState) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """Object ids touched in the window, first-touch order, each with its net
    membership changes (member id -> (member kind, last op))."""
    touched: dict[str, dict[str, tuple[str, str]]] = {}
    scope = set(state.ids) if state.ids is not None else None
    for event in directory.changes_since(state.start):
        if event.seq > state.end:
            break
        if scope is not None and event.object_id not in scope:
            continue
        if state.kind == "users" and event.kind == "user":
            touched.setdefault(event.object_id, {})
        elif state.kind == "groups" and event.kind in ("group", "membership"):
            members = touched.setdefault(event.object_id, {})
            if event.kind == "membership" and event.member_id is not None:
                members[event.member_id] = (event.member_kind or "user", event.op)
    return list(touched.items())


def _changed_item(
    directory: Directory,
    kind: Kind,
    object_id: str,
    members: dict[str, tuple[str, str]],
    select: tuple[str, ...] | None,
    wants_members: bool,
    render: Render,
) -> dict[str, Any]:
    pool = directory.users if kind == "users" else directory.groups
    obj = pool.get(object_id)
    if obj is None:
        restorable = kind == "users" and object_id in directory.deleted_users
        return {"id": object_id, "@removed": dict(SOFT_REMOVED if restorable else REMOVED)}
    item = render(obj, select)
    if wants_members and members:
        refs = []
        for member_id, (member_kind, op) in members.items():
            ref: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{member_kind}", "id": member_id}
            if op == "removed":
                ref["@removed"] = dict(REMOVED)
            refs.append(ref)
        item["members@delta"] = refs
    return item
