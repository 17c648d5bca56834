"""The request budget every worker shares, per IdP origin and credential: a token bucket in Redis.

One hash per :class:`~connector.net.shared_budget.Target` (``<prefix>:budget:<key>``) holds the
bucket's tokens and when they were counted, the per-minute limit the IdP announced
(``X-Rate-Limit-Limit``; the smallest seen, since Okta announces one per endpoint family and one
budget serves them all) and until when the IdP asked everyone to pause (a 429's ``Retry-After``,
or the window's reset once the remaining requests fall to the part that is not ours).

The bucket of a budget ``B`` = ``share`` x limit per minute holds at most ``burst`` = ``B / 10``
tokens and fills at ``(B - burst) / 60`` a second, so no 60 seconds, however placed, see more
than ``B`` requests: the IdP's fixed one-minute window is never passed, by all workers together.
A draw (:data:`DRAW`, one Lua script: atomic, on Redis's clock) always takes its token, going
into debt if need be, and answers how long to wait: each request then goes at the earliest moment
the bucket allows it, in the order they asked, with one round trip.  Before the IdP announces
anything, ``default_per_minute`` stands for its limit.  When Redis does not answer, a draw waits
nothing and says so once a minute: the run goes on with the in-process pacing alone (the IdP's
own headers and 429s), as a run without Redis does, rather than failing.
"""

from __future__ import annotations

import logging
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from connector.net.shared_budget import Announcement
from connector.net.shared_budget import Target

log = logging.getLogger(__name__)

DEFAULT_PER_MINUTE = 600
"""The limit assumed until the IdP announces one (Okta's smallest per-minute limit, Graph none)."""

IDLE_SECONDS = 3600
"""A budget nobody drew from for this long is forgotten (the next draw starts it full)."""

DRAW = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'limit', 'paused_until')
local limit = tonumber(b[3]) or tonumber(ARGV[2])
local budget = math.max(1, limit * tonumber(ARGV[1]))
local burst = math.max(1, math.floor(budget / 10))
local rate = math.max(budget - burst, 1) / 60
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate) - 1
local wait = 0
if tokens < 0 then wait = -tokens / rate end
local paused = tonumber(b[4]) or 0
if paused - now > wait then wait = paused - now end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return tostring(wait)
"""
"""KEYS[1] the bucket; ARGV share, default per-minute limit, idle seconds -> seconds to wait."""

OBSERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local limit = tonumber(ARGV[1])
if limit and limit > 0 then
  local have = tonumber(redis.call('HGET', KEYS[1], 'limit'))
  if not have or limit < have then redis.call('HSET', KEYS[1], 'limit', limit) end
end
local pause = tonumber(ARGV[2])
if pause and pause > 0 then
  local until_ = now + pause
  local have = tonumber(redis.call('HGET', KEYS[1], 'paused_until')) or 0
  if until_ > have then redis.call('HSET', KEYS[1], 'paused_until', tostring(until_)) end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
"""KEYS[1] the bucket; ARGV announced limit (or ''), pause seconds (or ''), idle seconds."""


class RedisBudget:
    """:class:`~connector.net.shared_budget.RequestBudget` kept in Redis, shared by every worker."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "idpc",
        default_per_minute: int = DEFAULT_PER_MINUTE,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.default_per_minute = default_per_minute
        self._draw = client.register_script(DRAW)
        self._observe = client.register_script(OBSERVE)
        self._said_at = -3600.0

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> RedisBudget:
        """A budget on the Redis at ``url``, tried once per call: a Redis that does not answer must
        not hold every request up for seconds of retries (the draw goes on without it)."""
        client = redis.Redis.from_url(
            url, socket_connect_timeout=2.0, socket_timeout=2.0, retry=Retry(NoBackoff(), 1)
        )
        return cls(client, **kwargs)  # type: ignore[arg-type]

    def key(self, target: Target) -> str:
        return f"{self.prefix}:budget:{target.key}"

    def draw(self, target: Target, share: float) -> float:
        try:
            wait = self._draw(keys=[self.key(target)], args=[share, self.default_per_minute, IDLE_SECONDS])
        except redis.RedisError as exc:
            self._unreachable(exc)
            return 0.0
        return float(wait)

    def _unreachable(self, exc: redis.RedisError) -> None:
        now = time.monotonic()
        if now - self._said_at >= 60:
            self._said_at = now
            log.warning(
                "the shared request budget is out of reach (%s); pacing in this process only",
                type(exc).__name__,
            )

    def observe(self, target: Target, announced: Announcement, share: float) -> None:
        pause = announced.retry_after if announced.status == 429 else None
        if (
            pause is None
            and announced.limit is not None
            and announced.remaining is not None
            and announced.reset_in is not None
            and announced.remaining <= announced.limit * (1.0 - share)
        ):
            pause = announced.reset_in + 1.0  # our share of this window is spent (by anyone)
        if announced.limit is None and pause is None:
            return
        if pause:
            log.info("%s: the IdP's budget is spent; every worker pauses %.1fs", target.origin, pause)
        try:
            self._observe(
                keys=[self.key(target)],
                args=[announced.limit if announced.limit is not None else "", pause or "", IDLE_SECONDS],
            )
        except redis.RedisError as exc:
            self._unreachable(exc)

    def per_minute(self, target: Target, share: float) -> float:
        """The budget's requests per minute now (what the IdP announced, times ``share``)."""
        limit = self.client.hget(self.key(target), "limit")
        return max(1.0, (float(limit) if limit is not None else self.default_per_minute) * share)

    def close(self) -> None:
        self.client.close()
