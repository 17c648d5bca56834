"""The scheduler's marks in Redis: when each directory is due next, and which ones are still going.

``<prefix>:due`` is a hash of ``<org>/<directory>`` -> the epoch millisecond it is due next.
``<prefix>:going:<org>/<directory>`` exists from the moment the scheduler enqueues a directory
until its task ends (:meth:`Marks.finished`), or, should its worker and every retry die, until
its time-to-live (the task's hard time limit and a margin) runs out.

:meth:`Marks.claim` takes one tick of one directory in one Lua script: it moves the due time on
only if it is still the one the scheduler read (two schedulers never take one tick twice) and
enqueues only if the directory is not going (a tick whose run is still going is skipped, and
counted so).
"""

from __future__ import annotations

import redis

CLAIM = """
local due = redis.call('HGET', KEYS[1], ARGV[1])
if due ~= ARGV[2] then return 'taken' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[4])) then return 'enqueue' end
return 'going'
"""
"""KEYS due hash, going key; ARGV field, due as read, next due, going TTL -> enqueue|going|taken."""


class Marks:
    """Due times and going marks of every scheduled directory, in Redis."""

    def __init__(self, client: redis.Redis, *, prefix: str = "idpc") -> None:
        self.client = client
        self.prefix = prefix
        self._claim = client.register_script(CLAIM)

    @property
    def due_key(self) -> str:
        return f"{self.prefix}:due"

    def going_key(self, org: str, directory_id: str) -> str:
        return f"{self.prefix}:going:{org}/{directory_id}"

    def due(self) -> dict[str, float]:
        """``{"<org>/<directory>": due epoch}`` of every directory the scheduler has seen."""
        return {k.decode(): int(v) / 1000 for k, v in self.client.hgetall(self.due_key).items()}

    def first_seen(self, org: str, directory_id: str, due: float) -> float:
        """Set the first due time unless one is set; the one in force."""
        field = f"{org}/{directory_id}"
        self.client.hsetnx(self.due_key, field, _ms(due))
        return int(self.client.hget(self.due_key, field) or _ms(due)) / 1000

    def claim(self, org: str, directory_id: str, due: float, following: float, ttl: float) -> str:
        """Take the tick due at ``due`` (as :meth:`first_seen` or :meth:`due` read it): ``enqueue``
        (it is ours to send), ``going`` (skipped: its last run is still going) or ``taken``
        (another scheduler took it)."""
        answer = self._claim(
            keys=[self.due_key, self.going_key(org, directory_id)],
            args=[f"{org}/{directory_id}", str(round(due * 1000)), _ms(following), max(1, int(ttl))],
        )
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    def going(self, org: str, directory_id: str) -> bool:
        return bool(self.client.exists(self.going_key(org, directory_id)))

    def finished(self, org: str, directory_id: str) -> None:
        """The directory's task ended: it may be enqueued again."""
        self.client.delete(self.going_key(org, directory_id))

    def every(self, name: str, seconds: float) -> bool:
        """Whether this caller takes the current ``seconds``-long period of ``name`` (once across
        every scheduler: the first to ask in a period takes it)."""
        key = f"{self.prefix}:every:{name}"
        return bool(self.client.set(key, "1", nx=True, px=max(1, int(seconds * 1000))))

    def forget(self, field: str) -> None:
        """Drop a directory the store no longer schedules."""
        self.client.hdel(self.due_key, field)


def _ms(epoch: float) -> str:
    """Epoch seconds as whole milliseconds, rounded down (a due time never moves later)."""
    return str(int(epoch * 1000))
