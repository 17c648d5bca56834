"""One provisioning cycle: what changed since the record, sent in the vendors' order.

Both engines work the same way at this level: users first (look up, then create or link;
updates of what differs from what was last sent), then groups (look up, create, rename,
members added and removed), then what left the directory (Okta deactivates users, Entra
disables soft-deleted ones and deletes hard-deleted ones), then deleted groups.  The first
cycle against an empty record is the vendors' initial cycle; later ones are incremental.

What changed is found by comparing the directory with the record of what was sent, as a
provisioning engine compares with its own cache: the mock's change log (``last_seq``) is
kept in the record, and a run that finds the log unchanged sends nothing at all.
"""

from __future__ import annotations

from typing import Any

from mock_idp.push.client import Report
from mock_idp.push.dialect import Dialect
from mock_idp.push.dialect import Member
from mock_idp.push.dialect import flat_from_scim
from mock_idp.push.record import GroupLink
from mock_idp.push.record import PushRecord
from mock_idp.push.record import UserLink
from mock_idp.push.source import Snapshot


def run_cycle(snapshot: Snapshot, record: PushRecord, dialect: Dialect) -> Report:
    """Push ``snapshot`` through ``dialect``, updating ``record``; the client's report."""
    report = dialect.client.report
    unchanged = record.tenant == snapshot.tenant_id and record.last_seq == snapshot.last_seq
    if not unchanged:
        _push_users(snapshot, record, dialect)
        _push_groups(snapshot, record, dialect)
        _users_left(snapshot, record, dialect)
        _groups_left(snapshot, record, dialect)
    if not report.failures:
        record.tenant, record.last_seq = snapshot.tenant_id, snapshot.last_seq
    else:
        record.tenant, record.last_seq = snapshot.tenant_id, -1  # retry what failed next time
    return report


def _failed_since(report: Report, count: int) -> bool:
    return len(report.failures) > count


def _push_users(snapshot: Snapshot, record: PushRecord, dialect: Dialect) -> None:
    report = dialect.client.report
    for object_id, user in snapshot.users.items():
        attrs = dialect.attributes(user)
        link = record.users.get(object_id)
        if link is not None:
            if link.sent != attrs and dialect.update_user(link.id, link.sent, attrs):
                report.actions["user updated"] += 1
                link.sent = attrs
            continue
        before = len(report.failures)
        found = dialect.find_user(attrs)
        if _failed_since(report, before):
            continue
        if found and isinstance(found.get("id"), str):
            old: dict[str, Any] = flat_from_scim(found)
            ok = dialect.update_user(found["id"], old, attrs)
            record.users[object_id] = UserLink(found["id"], attrs if ok else old)
            report.actions["user linked"] += 1
            continue
        scim_id = dialect.create_user(attrs)
        if scim_id is not None:
            record.users[object_id] = UserLink(scim_id, attrs)
            report.actions["user created"] += 1


def _push_groups(snapshot: Snapshot, record: PushRecord, dialect: Dialect) -> None:
    report = dialect.client.report
    for object_id, group in snapshot.groups.items():
        link = record.groups.get(object_id)
        if link is None:
            before = len(report.failures)
            scim_id = dialect.find_group(group)
            if _failed_since(report, before):
                continue
            if scim_id is None:
                scim_id = dialect.create_group(group)
                if scim_id is None:
                    continue
                report.actions["group created"] += 1
            else:
                report.actions["group linked"] += 1
            link = record.groups[object_id] = GroupLink(scim_id, group.name)
        wanted = {u: record.users[u].id for u in group.user_ids if u in record.users}
        add = [Member(wanted[u], record.users[u].sent["userName"]) for u in wanted if u not in link.members]
        remove = [Member(link.members[u], "") for u in link.members if u not in wanted]
        renamed = link.display_name != group.name
        if not (add or remove or renamed):
            continue
        if dialect.update_group(link.id, group, renamed=renamed, add=add, remove=remove):
            report.actions["member added"] += len(add)
            report.actions["member removed"] += len(remove)
            report.actions["group renamed"] += int(renamed)
            link.members, link.display_name = wanted, group.name


def _users_left(snapshot: Snapshot, record: PushRecord, dialect: Dialect) -> None:
    report = dialect.client.report
    for object_id, link in list(record.users.items()):
        if object_id in snapshot.users:
            continue
        result = dialect.user_left(link.id, link.sent, soft=object_id in snapshot.soft_deleted)
        if result is None:
            continue
        if not result:
            del record.users[object_id]
            report.actions["user deleted"] += 1
        elif result != link.sent:
            link.sent = result
            report.actions["user deactivated"] += 1


def _groups_left(snapshot: Snapshot, record: PushRecord, dialect: Dialect) -> None:
    report = dialect.client.report
    for object_id, link in list(record.groups.items()):
        if object_id not in snapshot.groups and dialect.delete_group(link.id):
            del record.groups[object_id]
            report.actions["group deleted"] += 1
