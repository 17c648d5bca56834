"""SCIM 2.0 adapter (RFC 7643 / RFC 7644), read side.

* ``GET /Users`` and ``GET /Groups`` paged by ``startIndex``/``count``
  (§3.4.2.4); groups are listed with ``excludedAttributes=members`` so a
  page stays small, and ``iter_members`` reads one group (``GET /Groups/{id}``,
  one request: SCIM does not page ``members``).
* ``active`` is SCIM ``active`` (absent reads as true, RFC 7643 §4.1.1 has no
  default; services that omit it mean an enabled user).  ``email`` is the
  ``emails`` entry marked ``primary``, else the first one.
* A member's kind comes from ``type`` (``User``/``Group``), else from a
  ``$ref`` under ``/Groups/``.
* ``changes(cursor)``: the cursor is a UTC timestamp; users and groups with
  ``meta.lastModified gt (cursor - 60 s)``, changed groups with their whole
  member list (``groups_with_full_members``), fifty groups to a page.  Only when
  ``/ServiceProviderConfig`` says ``filter.supported``; otherwise the stored
  cursor is refused with :class:`CursorExpiredError` (a full read is needed).
  SCIM lists cannot show deletions; the next full read notices them.

Auth: a static bearer token, or OAuth client credentials (``client_secret``
or ``private_key_jwt``) against ``auth.token_url``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests

from connector.errors import AuthError
from connector.errors import CursorExpiredError
from connector.errors import ProviderError
from connector.model import ChangeSet
from connector.model import IdpGroup
from connector.model import IdpMember
from connector.model import IdpUser
from connector.model import MemberKind
from connector.model import ReadProblem
from connector.net.paging import scim_pages
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

PAGE_MAX = 1000
GROUPS_WITH_MEMBERS_PER_PAGE = 50
"""Changed groups come with their whole member lists: fifty to a page keeps one page's JSON (and
its parse) at a few megabytes where a thousand groups of 300 would be a hundred."""
SCIM_MEDIA = "application/scim+json, application/json"


def read_scim_error(response: requests.Response) -> tuple[str | None, str | None]:
    """``(scimType, detail)`` of a SCIM error (RFC 7644 §3.12), or OAuth ``(error, description)``."""
    body = response.json()
    if "error" in body and isinstance(body["error"], str):
        return body["error"], body.get("error_description")
    return body.get("scimType"), body.get("detail")


class ScimProvider(HttpProvider):
    """Reads a SCIM 2.0 service.  ``base_url`` is its root, e.g. ``https://host/scim/v2``."""

    name = "scim"
    supports_changes = True

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self._connect(
            allowed=("bearer", "client_secret", "private_key_jwt"),
            default_token_url=None,
            default_scopes=(),
            read_error=read_scim_error,
            accept=SCIM_MEDIA,
        )
        self._filter_supported: bool | None = None

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> ScimProvider:
        return cls(settings)

    def check(self) -> CheckResult:
        """Read ``/ServiceProviderConfig``, then one user and one group."""
        try:
            self.filter_supported()
            for resource in ("Users", "Groups"):
                self.http.get_json(f"{self.base_url}/{resource}", {"count": 1})
        except (AuthError, ProviderError) as exc:
            return CheckResult(False, self.name, self.directory_id, detail=str(exc), error=exc)
        supports = "filtering supported" if self._filter_supported else "no filtering: full reads only"
        return CheckResult(True, self.name, self.directory_id, detail=f"reachable, authenticated; {supports}")

    def filter_supported(self) -> bool:
        """Whether the service filters lists (``ServiceProviderConfig.filter.supported``)."""
        if self._filter_supported is None:
            data, _ = self.http.get_json(f"{self.base_url}/ServiceProviderConfig")
            config = data.get("filter") if isinstance(data, dict) else None
            self._filter_supported = bool(isinstance(config, dict) and config.get("supported"))
        return self._filter_supported

    # ------------------------------------------------------------------ reads

    def iter_users(self) -> Iterator[IdpUser]:
        yield from self._users({})

    def _users(self, params: dict[str, Any]) -> Iterator[IdpUser]:
        query = {**params, "excludedAttributes": "groups"}
        pages = scim_pages(self.http, f"{self.base_url}/Users", query, self.page(PAGE_MAX))
        for page in prefetched(pages, name="scim-users"):
            for raw in page:
                user = self.kept(self.to_user, raw)
                if user is not None:
                    yield user

    def iter_groups(self) -> Iterator[IdpGroup]:
        query = {"excludedAttributes": "members"}
        pages = scim_pages(self.http, f"{self.base_url}/Groups", query, self.page(PAGE_MAX))
        for page in prefetched(pages, name="scim-groups"):
            for raw in page:
                group = self.kept(self.to_group, raw)
                if group is not None:
                    yield group

    def iter_members(self, group_id: str) -> Iterator[IdpMember]:
        """The group's members from ``GET /Groups/{id}``.  A group answered without them is not
        known to be empty: it is reported (``ReadProblem("members")``) and yields nothing, and
        its memberships stay as they are (docs/contract.md, "Absent groups and incomplete member
        lists")."""
        data, _ = self.http.get_json(f"{self.base_url}/Groups/{quote(group_id, safe='')}")
        members = self.to_members(group_id, data)
        if members is None:
            self.report(
                ReadProblem("members", group_id, f"SCIM group {group_id} was answered without its members")
            )
            return
        yield from members

    def changes(self, cursor: str | None) -> ChangeSet:
        """Users and groups modified after ``cursor`` (minus a 60 s overlap); see the module doc."""
        started = now_utc()
        if cursor is None:
            return ChangeSet(cursor=format_cursor(started))
        moment = parse_cursor(cursor, self.directory_id)
        if not self.filter_supported():
            raise CursorExpiredError(
                "this SCIM service does not support filtering; a full read is needed",
                directory_id=self.directory_id,
            )
        since = format_cursor(moment - CURSOR_OVERLAP)
        flt = {"filter": f'meta.lastModified gt "{since}"'}
        users = tuple(self._users(flt))
        groups: list[IdpGroup] = []
        members: list[IdpMember] = []
        whole: list[str] = []  # groups whose whole member list came
        per_page = min(self.page(PAGE_MAX), GROUPS_WITH_MEMBERS_PER_PAGE)
        for page in scim_pages(self.http, f"{self.base_url}/Groups", flt, per_page):
            for raw in page:
                group = self.kept(self.to_group, raw)
                if group is None:
                    continue
                groups.append(group)
                listed = self.to_members(group.idp_group_id, raw)
                if listed is None:  # asked for alone, then reported if still without them
                    reported = len(self.problems)
                    listed = list(self.iter_members(group.idp_group_id))
                    if len(self.problems) > reported:
                        continue
                members.extend(listed)
                whole.append(group.idp_group_id)
        return ChangeSet(
            cursor=format_cursor(started),
            users=users,
            groups=tuple(groups),
            members_added=tuple(members),
            groups_with_full_members=tuple(whole),
        )

    # ------------------------------------------------------------------ mapping

    def to_user(self, raw: Any) -> IdpUser:
        """A SCIM User resource as an :class:`IdpUser`; a field of the wrong type makes it
        malformed (:mod:`connector.providers.fields`).  ``active`` absent counts as true."""
        fields = Fields(raw, "user", "a SCIM user")
        user_id = fields.object_id_of()
        user_name = fields.text("userName")
        listed = raw.get("emails") or []
        if not isinstance(listed, list) or not all(isinstance(e, dict) for e in listed):
            fields.fail("'emails' is not a list of objects")
        emails = [e for e in listed if e.get("value")]
        if not all(isinstance(e["value"], str) for e in emails):
            fields.fail("an address in 'emails' is not text")
        primary = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
        email = primary["value"] if primary else None
        active = fields.flag("active", default=True)
        name = fields.record("name")
        meta = fields.record("meta")
        return IdpUser(
            idp_user_id=user_id,
            user_name=user_name,
            email=user_name if email == user_name else email,  # one string where equal
            active=active,
            raw_status="active=true" if active else "active=false",
            display_name=fields.optional_text("displayName")
            or fields.optional_text("formatted", record=name),
            given_name=fields.optional_text("givenName", record=name),
            family_name=fields.optional_text("familyName", record=name),
            other_emails=tuple(e["value"] for e in emails if e is not primary),
            is_guest=str(raw.get("userType") or "").lower() == "guest",
            updated_at=parse_time(meta.get("lastModified"), "meta.lastModified", self.directory_id),
        )

    def to_group(self, raw: Any) -> IdpGroup:
        """A SCIM Group resource as an :class:`IdpGroup` (members apart)."""
        fields = Fields(raw, "group", "a SCIM group")
        group_id = fields.object_id_of()
        meta = fields.record("meta")
        return IdpGroup(
            idp_group_id=group_id,
            name=fields.text("displayName"),
            description=fields.optional_text("description"),
            updated_at=parse_time(meta.get("lastModified"), "meta.lastModified", self.directory_id),
        )

    def to_members(self, group_id: str, raw: Any) -> list[IdpMember] | None:
        """The direct members of a SCIM Group resource; None when the resource does not say them
        (no ``members`` attribute, or an entry without a ``value``): its list is not known."""
        listed = raw.get("members") if isinstance(raw, dict) else None
        if not isinstance(listed, list):
            return None
        members = []
        for member in listed:
            member_id = member.get("value") if isinstance(member, dict) else None
            if not isinstance(member_id, str) or not member_id:
                return None
            kind = str(member.get("type") or "").lower()
            if not kind and "/Groups/" in str(member.get("$ref") or ""):
                kind = "group"
            members.append(
                IdpMember(group_id, member_id, MemberKind.GROUP if kind == "group" else MemberKind.USER)
            )
        return members
