"""Event ids: UUIDs of version 7 (RFC 9562, section 5.7), whose text sorts as time does.

The first 48 bits are the Unix time in milliseconds, so ``ORDER BY event_id`` on the canonical
lower-case text is the order of time.  Within an organization the outbox makes each new id
greater than every id already written (:func:`next_ids`, under the organization's event lock), so
the order of ids is the order of commits even when two clocks disagree: a consumer that has
read up to an id has seen every event before it, and never will see a new one before it.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime
from datetime import timezone

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_RANDOM_BITS = 74  # 12 bits rand_a + 62 bits rand_b
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1


def _compose(millis: int, random: int) -> int:
    rand_a, rand_b = random >> 62, random & ((1 << 62) - 1)
    return (millis << 80) | _VERSION | (rand_a << 64) | _VARIANT | rand_b


def _parts(value: int) -> tuple[int, int]:
    millis = value >> 80
    rand_a = (value >> 64) & 0xFFF
    rand_b = value & ((1 << 62) - 1)
    return millis, (rand_a << 62) | rand_b


def next_ids(count: int, after: str | None = None, *, now_ms: int | None = None) -> list[str]:
    """``count`` new ids, increasing, each greater than ``after`` (the newest id written so far).

    Time-ordered from the clock; when the clock is behind ``after`` (another machine's, or the
    same millisecond) the ids go on from ``after`` by small random steps in its millisecond.
    """
    millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    floor_ms, floor_random = _parts(uuid.UUID(after).int) if after else (-1, 0)
    if millis > floor_ms:
        ms, random, step_first = millis, int.from_bytes(os.urandom(10), "big") & (_RANDOM_MASK >> 2), False
    else:
        ms, random, step_first = floor_ms, floor_random, True
    steps = os.urandom(count)  # a random step of 1 to 16 between two ids: not guessable from one
    ids = []
    for n in range(count):
        if n or step_first:
            random += 1 + (steps[n] & 0x0F)
        if random > _RANDOM_MASK:  # this millisecond is spent: borrow the next
            ms, random = ms + 1, 0
        ids.append(_text(_compose(ms, random)))
    return ids


def _text(value: int) -> str:
    """The canonical text of a 128-bit UUID value (what ``str(uuid.UUID(int=value))`` gives)."""
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def id_time(event_id: str) -> datetime:
    """When an event id was made (to the millisecond, UTC); ValueError when it is no UUIDv7."""
    try:
        value = uuid.UUID(event_id)
    except (ValueError, TypeError, AttributeError):
        value = None
    if value is None or value.version != 7 or str(value) != event_id:
        raise ValueError(f"{event_id!r} is not an event id (a UUID of version 7, lower case)")
    return datetime.fromtimestamp((value.int >> 80) / 1000, tz=timezone.utc)


def first_id_at(moment: datetime) -> str:
    """The smallest id of ``moment``'s millisecond: every id made before it sorts below."""
    return str(uuid.UUID(int=_compose(int(moment.timestamp() * 1000), 0)))
