"""The mirror in the store: the rules' mirror changes written by their handlers and loaded back."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from datetime import timezone
from typing import Any

import pytest
from builders import user
from fakes import as_sets
from fakes import seeded
from sqlalchemy import event

from connector.apply.applier import apply_plan
from connector.model import IdpMember
from connector.rules.mirror import MirrorIndex
from connector.rules.mirror import mirror_changes
from connector.rules.mirror_records import MirrorUser
from connector.rules.plan import Plan
from connector.run.sync import read_directory
from connector.store import Store
from connector.store.bulk import bulk_insert
from connector.store.handlers import mirror as mirror_handlers
from connector.store.mirror import load_mirror
from connector.store.mirror import load_mirror_index

D = "fake-dir"


def test_the_mirror_round_trips_through_the_store(store: Store) -> None:
    store.ensure_directory(D, "fake")
    stamped = user(
        1, updated_at=datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc), other_emails=("x@example.org",)
    )
    idp = seeded(users=3, groups=2)
    idp.put_user(stamped)
    view = read_directory(idp, D)
    with store.transaction(write=False) as conn:
        empty = load_mirror(conn, D)
    changes = mirror_changes(empty, view)
    result = apply_plan(store, Plan(D, changes=tuple(changes)))
    assert result.ok and store.audit() == []  # the mirror is not audited
    with store.transaction(write=False) as conn:
        loaded = load_mirror(conn, D)
    assert as_sets(loaded) == as_sets(view)
    assert mirror_changes(loaded, view) == []
    idp.delete_user("u0")
    idp.delete_group("g1")
    newer = read_directory(idp, D)
    apply_plan(store, Plan(D, changes=tuple(mirror_changes(loaded, newer))))
    with store.transaction(write=False) as conn:
        assert as_sets(load_mirror(conn, D)) == as_sets(newer)


def test_a_changed_member_list_writes_only_the_rows_that_differ(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.ensure_directory(D, "fake")
    idp = seeded(users=30, groups=2)
    first = read_directory(idp, D)
    apply_plan(store, Plan(D, changes=tuple(mirror_changes(MirrorIndex(D), first))))
    written: list[tuple[str, int]] = []

    @event.listens_for(store.engine, "after_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("DELETE", "UPDATE") and "idp_members" in statement:
            written.append((verb, max(cursor.rowcount, 0)))

    def counted(conn: Any, table: Any, rows: Any) -> None:
        written.append(("INSERT", len(rows)))
        bulk_insert(conn, table, rows)

    monkeypatch.setattr(mirror_handlers, "bulk_insert", counted)  # PostgreSQL's COPY fires no event

    members = list(first.members["g0"])
    kept, dropped = members[1:], members[0]
    newer = dataclasses.replace(first, members={**first.members, "g0": (*kept, IdpMember("g0", "u29"))})
    with store.transaction(write=False) as conn:
        stored = load_mirror_index(conn, D)
    assert stored == MirrorIndex.of_view(first)
    changes = mirror_changes(stored, newer)
    assert [c.action.value for c in changes] == ["mirror_members"]
    assert apply_plan(store, Plan(D, changes=tuple(changes))).ok
    assert sorted(written) == [("DELETE", 1), ("INSERT", 1)]  # not the whole group again
    with store.transaction(write=False) as conn:
        again = load_mirror_index(conn, D)
        view = load_mirror(conn, D)
    assert dropped.member_id not in {m.member_id for m in view.members["g0"]}
    assert again == MirrorIndex.of_view(newer) and mirror_changes(again, newer) == []


def test_a_mirror_change_for_another_directory_is_refused(store: Store) -> None:
    store.ensure_directory(D, "fake")
    change = MirrorUser(
        reason="r", directory_id="elsewhere", idp_user_id="u1", user_name="u1", raw_status="ACTIVE"
    )
    result = apply_plan(store, Plan(D, changes=(change,)))
    assert len(result.failed) == 1 and "elsewhere" in result.failed[0].error


def test_member_rows_are_written_in_slices_and_all_arrive(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mirror_handlers, "MEMBER_ROWS_PER_WRITE", 3)
    store.ensure_directory(D, "fake")
    idp = seeded(users=20, groups=3)
    view = read_directory(idp, D)
    assert sum(len(m) for m in view.members.values()) > 3 * 3
    assert apply_plan(store, Plan(D, changes=tuple(mirror_changes(MirrorIndex(D), view)))).ok
    with store.transaction(write=False) as conn:
        assert load_mirror_index(conn, D) == MirrorIndex.of_view(view)
    idp.delete_user("u1")
    newer = read_directory(idp, D)
    with store.transaction(write=False) as conn:
        stored = load_mirror_index(conn, D)
    assert apply_plan(store, Plan(D, changes=tuple(mirror_changes(stored, newer)))).ok
    with store.transaction(write=False) as conn:
        assert load_mirror_index(conn, D) == MirrorIndex.of_view(newer)


def _mirror_user(uid: str, name: str = "", removed: bool = False) -> MirrorUser:
    return MirrorUser(
        reason="r",
        directory_id=D,
        idp_user_id=uid,
        user_name=name or uid,
        raw_status="ACTIVE",
        removed=removed,
    )


def test_a_first_mirror_sends_no_deletes_and_an_id_written_twice_is_replaced(store: Store) -> None:
    store.ensure_directory(D, "fake")
    deletes: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("DELETE") and "idp_users" in statement:
            deletes.append(statement)

    # one transaction (the bookkeeping tail), its handler called 2 changes at a time: u1 comes back
    # in the third call, after the first call wrote it
    first = [_mirror_user(f"u{n}") for n in range(4)] + [_mirror_user("u1", "renamed"), _mirror_user("u9")]
    result = apply_plan(store, Plan(D, changes=tuple(first)), batch_size=2)
    assert result.ok and result.applied == {"mirror_user": 6}
    assert len(deletes) == 1  # only the call holding u1 again, and only for u1
    with store.transaction(write=False) as conn:
        loaded = load_mirror(conn, D)
    assert sorted(loaded.users) == ["u0", "u1", "u2", "u3", "u9"]
    assert loaded.users["u1"].user_name == "renamed"
    deletes.clear()
    again = [_mirror_user("u0", "again"), _mirror_user("u2", removed=True)]
    assert apply_plan(store, Plan(D, changes=tuple(again))).ok
    assert len(deletes) == 1  # not a first sync: stored rows are looked for
    with store.transaction(write=False) as conn:
        loaded = load_mirror(conn, D)
    assert sorted(loaded.users) == ["u0", "u1", "u3", "u9"]
    assert loaded.users["u0"].user_name == "again"
