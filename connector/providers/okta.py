"""Okta Management API adapter (``/api/v1``), read side.

* Users: ``GET /api/v1/users`` with ``filter=lastUpdated gt "1970-01-01T00:00:00.000Z"``.
  A plain list omits ``DEPROVISIONED`` users; a filter returns every status
  (idp-wire-protocols §1.4), and a date filter cannot miss a status Okta adds
  later.  ``limit`` is capped at 200.
* Groups: ``GET /api/v1/groups?expand=stats``; members:
  ``GET /api/v1/groups/{id}/users`` (Okta groups hold users only, never
  groups).  A member list shorter than the group's ``stats.usersCount``, or
  with an entry that has no id, is not known to be complete: the group is
  reported (``ReadProblem("members")``) and its memberships stay as they are.
  Okta gives no count of users; a full page without a next link is confirmed
  with one more request (see :func:`connector.net.paging.okta_pages`).
  A missing next link after a *short* page cannot be told from the end.
* Paging follows ``Link: rel="next"`` (§1.7); rate limits come in
  ``X-Rate-Limit-*`` headers (§1.8) and are handled by :mod:`connector.net.http`.
* ``active`` per docs/contract.md, "Map": ``ACTIVE``, ``PASSWORD_EXPIRED``, ``LOCKED_OUT``,
  ``RECOVERY``; ``STAGED``, ``PROVISIONED``, ``SUSPENDED``, ``DEPROVISIONED`` are
  inactive; any other status (``ACTIVE_V2``, a lower-case ``active``) makes the user
  malformed: skipped and reported, never read as inactive.
* ``changes(cursor)``: the cursor is a UTC timestamp; reads look back from
  ``cursor - 60 s`` (``CURSOR_OVERLAP``: the System Log is near-real-time and
  shows recent events late) to the time the read started.  Users with
  ``lastUpdated`` past it (deprovisioned ones included) and groups with
  ``lastUpdated`` past it (renames) are read whole.  Membership changes come
  from the System Log: ``GET /api/v1/logs?since&until&sortOrder=ASCENDING``
  filtered to ``group.user_membership.add`` / ``.remove``, paged by
  ``Link: rel="next"``, up to 1000 events a page.  Each event's targets are the
  user and the group; only ``outcome.result == "SUCCESS"`` counts, and the last
  event per (group, user) decides whether the pair lands in
  ``members_added`` or ``members_removed``.  When the log answers 403 (the
  ``okta.logs.read`` scope or the admin role is missing) the provider says so
  once on its logger and falls back to re-listing whole every group whose
  ``lastMembershipUpdated`` is past the cursor (``groups_with_full_members``).
  Okta's lists cannot show deleted objects, so ``removed_*`` stay empty: the
  next full read notices them.

Auth: an SSWS API token, or OAuth ``private_key_jwt`` against the org
authorization server ``{base_url}/oauth2/v1/token`` with scopes
``okta.users.read okta.groups.read okta.logs.read``.  ``okta.logs.read`` is
optional: when the token endpoint refuses it (``invalid_scope``) the token is
asked for again with the other two, and incremental runs take the fallback
above.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import requests

from connector.errors import AuthError
from connector.errors import IncompleteReadError
from connector.errors import ProviderError
from connector.model import ChangeSet
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import MemberKind
from connector.model import ReadProblem
from connector.net.paging import okta_pages
from connector.net.prefetch import prefetched
from connector.providers.base import CheckResult
from connector.providers.base import ProviderSettings
from connector.providers.common import CURSOR_OVERLAP
from connector.providers.common import HttpProvider
from connector.providers.common import format_cursor
from connector.providers.common import now_utc
from connector.providers.common import parse_cursor
from connector.providers.common import parse_time
from connector.providers.fields import Fields

ACTIVE_STATUSES = frozenset({"ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"})
STATUS_WORDS = {
    word: word for word in (*ACTIVE_STATUSES, "STAGED", "PROVISIONED", "SUSPENDED", "DEPROVISIONED")
}
"""Okta's user statuses, each one string object, where a read would hold one per user."""
SCOPES = ("okta.users.read", "okta.groups.read", "okta.logs.read")
OPTIONAL_SCOPES = frozenset({"okta.logs.read"})  # without it, incremental runs re-list changed groups
USERS_PAGE_MAX = 200
GROUPS_PAGE_MAX = 200
LOGS_PAGE_MAX = 1000
LOG_UNTIL_PAD = timedelta(milliseconds=1)
ALL_USERS_FILTER = 'lastUpdated gt "1970-01-01T00:00:00.000Z"'
MEMBERSHIP_ADD = "group.user_membership.add"
MEMBERSHIP_REMOVE = "group.user_membership.remove"
MEMBERSHIP_FILTER = f'eventType eq "{MEMBERSHIP_ADD}" or eventType eq "{MEMBERSHIP_REMOVE}"'

log = logging.getLogger(__name__)


def read_okta_error(response: requests.Response) -> tuple[str | None, str | None]:
    """``(errorCode, errorSummary)`` of an Okta error, or OAuth ``(error, error_description)``."""
    body = response.json()
    if "errorCode" in body:
        return body.get("errorCode"), body.get("errorSummary")
    return body.get("error"), body.get("error_description")


class OktaProvider(HttpProvider):
    """Reads an Okta org.  ``base_url`` is the org URL, e.g. ``https://acme.okta.com``."""

    name = "okta"
    supports_changes = True

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self._connect(
            allowed=("ssws", "private_key_jwt"),
            default_token_url=f"{self.base_url}/oauth2/v1/token",
            default_scopes=SCOPES,
            optional_scopes=tuple(OPTIONAL_SCOPES),
            read_error=read_okta_error,
        )
        self._member_counts: dict[str, int] = {}  # usersCount per group, from the last group listing
        self._logs_refused = False  # the System Log answered 403 once: re-list changed groups instead

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> OktaProvider:
        return cls(settings)

    # ------------------------------------------------------------------ reads

    def check(self) -> CheckResult:
        """Get a token (OAuth), then read one user, one group and one log event to prove each
        scope.  Only a missing ``okta.logs.read`` still passes: incremental runs fall back."""
        probes = {
            "okta.users.read": f"{self.base_url}/api/v1/users",
            "okta.groups.read": f"{self.base_url}/api/v1/groups",
            "okta.logs.read": f"{self.base_url}/api/v1/logs",
        }
        granted, missing = [], []
        for scope, url in probes.items():
            try:
                self.http.get_json(url, {"limit": 1})
                granted.append(scope)
            except AuthError as exc:
                if exc.status != 403:
                    return CheckResult(False, self.name, self.directory_id, detail=str(exc), error=exc)
                missing.append(scope)
            except ProviderError as exc:
                return CheckResult(False, self.name, self.directory_id, detail=str(exc), error=exc)
        detail = "reachable, authenticated" + (f"; missing {', '.join(missing)}" if missing else "")
        if OPTIONAL_SCOPES.intersection(missing):
            detail += " (without okta.logs.read, incremental runs re-list every group whose members moved)"
        ok = not set(missing) - OPTIONAL_SCOPES
        return CheckResult(ok, self.name, self.directory_id, tuple(granted), tuple(missing), detail)

    def iter_users(self) -> Iterator[IdpUser]:
        yield from self._users(ALL_USERS_FILTER)

    def _users(self, filter_: str) -> Iterator[IdpUser]:
        params = {"limit": self.page(USERS_PAGE_MAX), "filter": filter_}
        pages = okta_pages(self.http, f"{self.base_url}/api/v1/users", params, self.base_url)
        for page in prefetched(pages, name="okta-users"):
            for raw in page:
                user = self.kept(self.to_user, raw)
                if user is not None:
                    yield user

    def iter_groups(self) -> Iterator[IdpGroup]:
        yield from (group for group, _ in self._groups(None))

    def _groups(self, filter_: str | None) -> Iterator[tuple[IdpGroup, Any]]:
        params: dict[str, Any] = {"limit": self.page(GROUPS_PAGE_MAX), "expand": "stats"}
        if filter_:
            params["filter"] = filter_
        pages = okta_pages(self.http, f"{self.base_url}/api/v1/groups", params, self.base_url)
        for page in prefetched(pages, name="okta-groups"):
            for raw in page:
                group = self.kept(self.to_group, raw)
                if group is None:
                    continue
                stats = (raw.get("_embedded") or {}).get("stats")
                count = stats.get("usersCount") if isinstance(stats, dict) else None
                if isinstance(count, int) and not isinstance(count, bool):
                    self._member_counts[group.idp_group_id] = count
                yield group, raw

    def iter_members(self, group_id: str) -> Iterator[IdpMember]:
        url = f"{self.base_url}/api/v1/groups/{quote(group_id, safe='')}/users"
        params = {"limit": self.page(USERS_PAGE_MAX)}
        expected = self._member_counts.pop(group_id, None)
        seen = 0
        unreadable = 0
        for page in okta_pages(self.http, url, params, self.base_url):
            for raw in page:
                user_id = raw.get("id") if isinstance(raw, dict) else None
                if not isinstance(user_id, str) or not user_id:
                    unreadable += 1
                    continue
                seen += 1
                yield IdpMember(group_id, user_id, MemberKind.USER)
        if unreadable:
            self.report(
                ReadProblem(
                    "members", group_id, f"group {group_id} lists {unreadable} member(s) without an id"
                )
            )
        elif expected is not None and seen < expected:
            self.report(
                ReadProblem(
                    "members",
                    group_id,
                    f"group {group_id} listed {seen} of its {expected} members (stats.usersCount)",
                )
            )

    def changes(self, cursor: str | None) -> ChangeSet:
        """Users, groups and memberships changed after ``cursor`` (minus a 60 s overlap); see the
        module doc."""
        started = now_utc()
        if cursor is None:
            return ChangeSet(cursor=format_cursor(started))
        since = format_cursor(parse_cursor(cursor, self.directory_id) - CURSOR_OVERLAP)
        cursor_out = format_cursor(started)
        until = format_cursor(started + LOG_UNTIL_PAD)  # ``until`` may be exclusive: keep this millisecond
        users = tuple(self._users(f'lastUpdated gt "{since}"'))
        moves = self._membership_moves(since, until)
        groups: list[IdpGroup] = []
        members: list[IdpMember] = []
        full: list[str] = []
        group_filter = f'lastUpdated gt "{since}"'
        if moves is None:
            group_filter += f' or lastMembershipUpdated gt "{since}"'
        for group, raw in self._groups(group_filter):
            groups.append(group)
            if moves is not None:
                continue
            moved = parse_time(raw.get("lastMembershipUpdated"), "lastMembershipUpdated", self.directory_id)
            if moved is not None and format_cursor(moved) > since:
                reported = len(self.problems)
                listed = list(self.iter_members(group.idp_group_id))
                if len(self.problems) == reported:  # a list not known to be complete replaces nothing
                    members.extend(listed)
                    full.append(group.idp_group_id)
        added, removed = moves if moves is not None else (members, [])
        return ChangeSet(
            cursor=cursor_out,
            users=users,
            groups=tuple(groups),
            members_added=tuple(added),
            members_removed=tuple(removed),
            groups_with_full_members=tuple(full),
        )

    def _membership_moves(self, since: str, until: str) -> tuple[list[IdpMember], list[IdpMember]] | None:
        """``(added, removed)`` from the System Log's membership events in ``[since, until)``,
        or None when the log is refused (403), which is said once on the logger."""
        if self._logs_refused:
            return None
        params = {
            "since": since,
            "until": until,
            "filter": MEMBERSHIP_FILTER,
            "limit": self.page(LOGS_PAGE_MAX),
            "sortOrder": "ASCENDING",
        }
        try:
            events = [
                event
                for page in okta_pages(self.http, f"{self.base_url}/api/v1/logs", params, self.base_url)
                for event in page
            ]
        except AuthError as exc:
            if exc.status != 403:
                raise
            self._logs_refused = True
            log.warning(
                "directory %s: the Okta System Log refused the read (403: okta.logs.read not granted?); "
                "incremental runs re-list every group whose members changed instead",
                self.directory_id,
            )
            return None
        return self.membership_moves(events)

    def membership_moves(self, events: list[Any]) -> tuple[list[IdpMember], list[IdpMember]]:
        """System Log events, oldest first, as ``(added, removed)``: the last successful
        ``group.user_membership.add``/``.remove`` per (group, user) decides."""
        last: dict[tuple[str, str], str] = {}
        for event in events:
            kind = event.get("eventType") if isinstance(event, dict) else None
            if kind not in (MEMBERSHIP_ADD, MEMBERSHIP_REMOVE):
                continue
            if (event.get("outcome") or {}).get("result") != "SUCCESS":
                continue
            targets = {t.get("type"): t.get("id") for t in event.get("target") or () if isinstance(t, dict)}
            user_id, group_id = targets.get("User"), targets.get("UserGroup")
            if not user_id or not group_id:
                raise IncompleteReadError(
                    f"System Log event {event.get('uuid')} ({kind}) does not name its user and group",
                    directory_id=self.directory_id,
                )
            pair = (group_id, user_id)
            last.pop(pair, None)  # keep dict order = order of each pair's last event
            last[pair] = kind
        added = [IdpMember(g, u, MemberKind.USER) for (g, u), kind in last.items() if kind == MEMBERSHIP_ADD]
        removed = [
            IdpMember(g, u, MemberKind.USER) for (g, u), kind in last.items() if kind == MEMBERSHIP_REMOVE
        ]
        return added, removed

    # ------------------------------------------------------------------ mapping

    def to_user(self, raw: Any) -> IdpUser:
        """An Okta User object as an :class:`IdpUser`; a status Okta does not document, or a
        field of the wrong type, makes it malformed (:mod:`connector.providers.fields`)."""
        fields = Fields(raw, "user", "an Okta user")
        user_id = fields.object_id_of()
        status = fields.text("status")
        word = STATUS_WORDS.get(status)
        if word is None:
            fields.fail(f"status {status[:40]!r} is not one Okta documents; neither active nor inactive")
        profile = fields.record("profile")
        login = fields.text("login", record=profile)
        email = fields.optional_text("email", record=profile)
        second = fields.optional_text("secondEmail", record=profile)
        return IdpUser(
            idp_user_id=user_id,
            user_name=login,
            email=login if email == login else email,  # one string where equal: a read holds them all
            active=word in ACTIVE_STATUSES,
            raw_status=word,
            display_name=fields.optional_text("displayName", record=profile),
            given_name=fields.optional_text("firstName", record=profile),
            family_name=fields.optional_text("lastName", record=profile),
            other_emails=(second,) if second and second != email else (),
            updated_at=parse_time(raw.get("lastUpdated"), "lastUpdated", self.directory_id),
        )

    def to_group(self, raw: Any) -> IdpGroup:
        """An Okta Group object as an :class:`IdpGroup`."""
        fields = Fields(raw, "group", "an Okta group")
        group_id = fields.object_id_of()
        profile = fields.record("profile")
        return IdpGroup(
            idp_group_id=group_id,
            name=fields.text("name", record=profile),
            description=fields.optional_text("description", record=profile),
            updated_at=parse_time(raw.get("lastUpdated"), "lastUpdated", self.directory_id),
        )
