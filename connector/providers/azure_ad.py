"""Microsoft Graph v1.0 adapter (Entra ID / Azure AD), read side.

* ``GET /users`` and ``GET /groups`` with ``$select`` of only the fields the
  connector maps and ``$top=999`` (the maximum, idp-wire-protocols §2.2),
  and ``$count=true`` so that a sequence cut short raises;
  ``GET /groups/{id}/members`` for direct members, whose kind comes from
  ``@odata.type`` (§2.5; devices, contacts and service principals are not
  members the product knows and are left out).
* ``active`` is ``accountEnabled``.  A guest (``userType`` ``Guest``, a
  ``#EXT#`` UPN, or ``creationType`` ``Invitation``, §2.7) gets its email
  from ``mail``, else ``otherMails``, else the UPN before ``#EXT#`` with its
  last ``_`` turned back into ``@``; a member from ``mail``, else its UPN.
* ``changes(cursor)``: delta queries (§2.6).  The cursor is a JSON object
  holding the users and groups delta links; ``changes(None)`` gets fresh
  ones with ``$deltatoken=latest``.  ``@removed`` entries are removals;
  ``members@delta`` entries are membership changes.  A refused token (410,
  ``syncStateNotFound``, ``resyncRequired``) raises
  :class:`CursorExpiredError`.
* Deleted users: Entra first moves a deleted user to its deleted items, where
  it can be restored for 30 days; delta says ``@removed`` ``{"reason":
  "changed"}``, and ``"deleted"`` once it is deleted for good (§2.6).  Both
  are removals: a user in the deleted items cannot sign in and is in no
  listing or group, so its account is deactivated as for any identity the IdP
  reports deleted (docs/contract.md, "Inactive and absent identities").  A
  restored user comes back in delta as the whole object with the same id,
  so its link, which no sync deletes, makes it the same account, reactivated.

Auth: OAuth client credentials (``client_secret`` or ``private_key_jwt``)
against ``{authority}/{tenant}/oauth2/v2.0/token`` with scope
``https://graph.microsoft.com/.default``.  ``options``: ``tenant``
(required) and ``authority`` (default ``https://login.microsoftonline.com``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests

from connector.errors import AuthError
from connector.errors import ConfigError
from connector.errors import CursorExpiredError
from connector.errors import MalformedObjectError
from connector.errors import ProviderError
from connector.errors import ShortListError
from connector.model import ChangeSet
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import MemberKind
from connector.model import ReadProblem
from connector.net.origins import same_origin
from connector.net.paging import graph_pages
from connector.net.prefetch import prefetched
from connector.providers.base import CheckResult
from connector.providers.base import ProviderSettings
from connector.providers.common import HttpProvider
from connector.providers.fields import Fields

PAGE_MAX = 999
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
USER_FIELDS = (
    "id,userPrincipalName,mail,otherMails,givenName,surname,displayName,"
    "accountEnabled,userType,creationType,externalUserState"
)
GROUP_FIELDS = "id,displayName,description"
MEMBER_KINDS = {"#microsoft.graph.user": MemberKind.USER, "#microsoft.graph.group": MemberKind.GROUP}
EXPIRED_CODES = frozenset({"syncStateNotFound", "resyncRequired", "SyncStateNotFound"})


def read_graph_error(response: requests.Response) -> tuple[str | None, str | None]:
    """``(error.code, error.message)`` of a Graph error, or the token endpoint's ``(error, description)``."""
    body = response.json()
    error = body.get("error")
    if isinstance(error, dict):
        return error.get("code"), error.get("message")
    return error, body.get("error_description")


def classify_graph(status: int, code: str | None) -> type[ProviderError] | None:
    """A refused delta token becomes CursorExpiredError (410 Gone or its codes)."""
    if status == 410 or code in EXPIRED_CODES:
        return CursorExpiredError
    return None


def guest_email_from_upn(upn: str) -> str | None:
    """``john_contoso.com#EXT#@fabrikam.onmicrosoft.com`` -> ``john@contoso.com``."""
    head = upn.split("#EXT#", 1)[0]
    if "_" not in head:
        return None
    local, _, domain = head.rpartition("_")
    return f"{local}@{domain}" if local and domain else None


class AzureADProvider(HttpProvider):
    """Reads an Entra ID tenant through Graph.  ``base_url`` is ``https://graph.microsoft.com/v1.0``."""

    name = "azure_ad"
    supports_changes = True

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        tenant = settings.options.get("tenant")
        if not tenant:
            raise ConfigError("options.tenant is required for azure_ad (the tenant id or domain)")
        authority = str(settings.options.get("authority") or DEFAULT_AUTHORITY).rstrip("/")
        self._connect(
            allowed=("client_secret", "private_key_jwt"),
            default_token_url=f"{authority}/{tenant}/oauth2/v2.0/token",
            default_scopes=(GRAPH_SCOPE,),
            read_error=read_graph_error,
            classify=classify_graph,
        )

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> AzureADProvider:
        return cls(settings)

    def check(self) -> CheckResult:
        """Get a token, then read one user (User.Read.All) and one group (GroupMember.Read.All)."""
        probes = {"User.Read.All": "users", "GroupMember.Read.All": "groups"}
        granted, missing = [], []
        for permission, path in probes.items():
            try:
                self.http.get_json(f"{self.base_url}/{path}", {"$top": 1, "$select": "id"})
                granted.append(permission)
            except AuthError as exc:
                if exc.status != 403:
                    return CheckResult(False, self.name, self.directory_id, detail=str(exc), error=exc)
                missing.append(permission)
            except ProviderError as exc:
                return CheckResult(False, self.name, self.directory_id, detail=str(exc), error=exc)
        detail = "reachable, authenticated" + (f"; missing {', '.join(missing)}" if missing else "")
        return CheckResult(not missing, self.name, self.directory_id, tuple(granted), tuple(missing), detail)

    # ------------------------------------------------------------------ full reads

    def iter_users(self) -> Iterator[IdpUser]:
        params = {"$select": USER_FIELDS, "$top": self.page(PAGE_MAX)}
        pages = graph_pages(self.http, f"{self.base_url}/users", params, self.base_url, counted=True)
        for page in prefetched(pages, name="graph-users"):
            for raw in page.values:
                user = self.kept(self.to_user, raw)
                if user is not None:
                    yield user

    def iter_groups(self) -> Iterator[IdpGroup]:
        params = {"$select": GROUP_FIELDS, "$top": self.page(PAGE_MAX)}
        pages = graph_pages(self.http, f"{self.base_url}/groups", params, self.base_url, counted=True)
        for page in prefetched(pages, name="graph-groups"):
            for raw in page.values:
                group = self.kept(self.to_group, raw)
                if group is not None:
                    yield group

    def iter_members(self, group_id: str) -> Iterator[IdpMember]:
        url = f"{self.base_url}/groups/{quote(group_id, safe='')}/members"
        params = {"$select": "id", "$top": self.page(PAGE_MAX)}
        unreadable: Exception | None = None
        try:
            for page in graph_pages(self.http, url, params, self.base_url, counted=True):
                for raw in page.values:
                    try:
                        member = self.to_member(group_id, raw)
                    except MalformedObjectError as exc:
                        unreadable = exc
                        continue
                    if member is not None:
                        yield member
        except ShortListError as exc:  # fewer members than $count: this list is not known whole
            unreadable = exc
        if unreadable is not None:
            self.report(ReadProblem("members", group_id, f"Graph group {group_id}: {unreadable}"))

    # ------------------------------------------------------------------ delta

    def changes(self, cursor: str | None) -> ChangeSet:
        """Changes since ``cursor`` through the users and groups delta links; see the module doc."""
        if cursor is None:
            links = {
                "users": self._latest("users", USER_FIELDS),
                "groups": self._latest("groups", GROUP_FIELDS + ",members"),
            }
            return ChangeSet(cursor=json.dumps(links, sort_keys=True))
        links = self._parse_cursor(cursor)
        users: dict[str, IdpUser] = {}
        removed_users: dict[str, None] = {}
        users_link = None
        for page in graph_pages(self.http, links["users"], None, self.base_url, delta=True):
            for raw in page.values:
                user_id = self.kept(
                    lambda r: Fields(r, "user", "a Graph user delta entry").object_id_of(), raw
                )
                if user_id is None:
                    continue
                if "@removed" in raw:  # reason "changed" (restorable) or "deleted": see the module doc
                    users.pop(user_id, None)
                    removed_users[user_id] = None
                    continue
                removed_users.pop(user_id, None)  # a later entry wins: a restore undoes a removal
                user = self.kept(self.to_user, raw)
                if user is not None:
                    users[user_id] = user
                else:
                    users.pop(user_id, None)  # malformed now: its change waits for a readable answer
            users_link = page.delta_link or users_link
        groups, removed_groups, added, removed, groups_link = self._group_delta(links["groups"])
        return ChangeSet(
            cursor=json.dumps({"users": users_link, "groups": groups_link}, sort_keys=True),
            users=tuple(users.values()),
            removed_user_ids=tuple(removed_users),
            groups=tuple(groups.values()),
            removed_group_ids=tuple(removed_groups),
            members_added=tuple(added.values()),
            members_removed=tuple(removed.values()),
        )

    def _group_delta(self, link: str) -> tuple[dict[str, IdpGroup], dict[str, None], dict, dict, str | None]:
        groups: dict[str, IdpGroup] = {}
        removed_groups: dict[str, None] = {}
        added: dict[tuple[str, str], IdpMember] = {}
        removed: dict[tuple[str, str], IdpMember] = {}
        delta_link = None
        for page in graph_pages(self.http, link, None, self.base_url, delta=True):
            for raw in page.values:
                group_id = self.kept(
                    lambda r: Fields(r, "group", "a Graph group delta entry").object_id_of(), raw
                )
                if group_id is None:
                    continue
                if "@removed" in raw:
                    groups.pop(group_id, None)
                    removed_groups[group_id] = None
                    continue
                if raw.get("displayName") is not None:
                    group = self.kept(self.to_group, raw)
                    if group is not None:
                        groups[group_id] = group
                entries = raw.get("members@delta") or []
                for entry in entries if isinstance(entries, list) else [None]:
                    try:
                        member = self.to_member(group_id, entry)
                    except MalformedObjectError as exc:
                        self.report(ReadProblem("members", group_id, str(exc)))
                        continue
                    if member is None:
                        continue
                    key = (group_id, member.member_id)
                    if "@removed" in entry:
                        added.pop(key, None)
                        removed[key] = member
                    else:
                        removed.pop(key, None)
                        added[key] = member
            delta_link = page.delta_link or delta_link
        return groups, removed_groups, added, removed, delta_link

    def _latest(self, resource: str, select: str) -> str:
        params = {"$select": select, "$deltatoken": "latest"}
        link = None
        for page in graph_pages(
            self.http, f"{self.base_url}/{resource}/delta", params, self.base_url, delta=True
        ):
            link = page.delta_link or link
        assert link is not None  # graph_pages(delta=True) raises without one
        return link

    def _parse_cursor(self, cursor: str) -> dict[str, str]:
        try:
            links = json.loads(cursor)
            ok = all(
                isinstance(links.get(k), str) and same_origin(links[k], self.base_url)
                for k in ("users", "groups")
            )
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            raise CursorExpiredError(
                "the stored change cursor is not a pair of Graph delta links for this tenant; "
                "a full read is needed",
                directory_id=self.directory_id,
            )
        return links

    # ------------------------------------------------------------------ mapping

    def to_user(self, raw: Any) -> IdpUser:
        """A Graph user as an :class:`IdpUser` (see the module doc for email and guests); a field
        of the wrong type makes it malformed (:mod:`connector.providers.fields`)."""
        fields = Fields(raw, "user", "a Graph user")
        user_id = fields.object_id_of()
        upn = fields.text("userPrincipalName")
        enabled = raw.get("accountEnabled")
        if not isinstance(enabled, bool):
            fields.fail("it has no boolean accountEnabled (was $select honoured?)")
        others = raw.get("otherMails") or []
        if not isinstance(others, list) or not all(isinstance(m, str) for m in others):
            fields.fail("'otherMails' is not a list of addresses")
        other = [m for m in others if m]
        mail = fields.optional_text("mail")
        user_type = fields.optional_text("userType")
        is_guest = (
            user_type == "Guest"
            or "#EXT#" in upn.upper()
            or fields.optional_text("creationType") == "Invitation"
        )
        if mail:
            email: str | None = mail
        elif is_guest:
            email = other[0] if other else guest_email_from_upn(upn)
        else:
            email = upn
        return IdpUser(
            idp_user_id=user_id,
            user_name=upn,
            email=upn if email == upn else email,  # one string where equal: a read holds them all
            active=enabled,
            raw_status="accountEnabled=true" if enabled else "accountEnabled=false",
            display_name=fields.optional_text("displayName"),
            given_name=fields.optional_text("givenName"),
            family_name=fields.optional_text("surname"),
            other_emails=tuple(m for m in other if m != email),
            is_guest=is_guest,
        )

    def to_group(self, raw: Any) -> IdpGroup:
        """A Graph group as an :class:`IdpGroup`."""
        fields = Fields(raw, "group", "a Graph group")
        group_id = fields.object_id_of()
        return IdpGroup(
            idp_group_id=group_id,
            name=fields.text("displayName"),
            description=fields.optional_text("description"),
        )

    def to_member(self, group_id: str, raw: Any) -> IdpMember | None:
        """A member by ``@odata.type``; None for kinds the product has no use for.  An entry
        without an id or a type raises :class:`MalformedObjectError` (its list is incomplete)."""
        member_id = raw.get("id") if isinstance(raw, dict) else None
        odata_type = raw.get("@odata.type") if isinstance(raw, dict) else None
        if not isinstance(member_id, str) or not member_id or not isinstance(odata_type, str):
            raise MalformedObjectError(
                f"Graph group {group_id} lists a member without an id or an @odata.type",
                kind="members",
                object_id=group_id,
            )
        kind = MEMBER_KINDS.get(odata_type)
        return IdpMember(group_id, member_id, kind) if kind else None
