"""The ten-line webhook consumer of docs/events.md, run as written: it takes a signed event and
refuses a forged one."""

from __future__ import annotations

import json
import re
from datetime import datetime
from datetime import timezone
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"
SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGhlLWRvYy10ZXN0cy0xMjM0"


def consumer_source() -> str:
    match = re.search(r"<!-- consumer -->\n```python\n(.*?)```", DOC.read_text(), re.S)
    assert match, "docs/events.md lost its consumer block"
    return match.group(1)


def test_the_consumer_is_ten_lines_or_so() -> None:
    lines = [line for line in consumer_source().splitlines() if line.strip()]
    assert len(lines) <= 13


def test_the_documented_consumer_takes_a_signed_event_and_refuses_a_forged_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    handled: list[dict] = []
    namespace = {"__name__": "consumer", "handle": handled.append}
    exec(compile(consumer_source(), str(DOC), "exec"), namespace)  # noqa: S102
    client = namespace["app"].test_client()
    body = json.dumps({"id": "0193a4c2-7d1e-7c3a-9f10-5b2e8d4a1c07", "type": "account.created", "data": {}})
    now = datetime.now(timezone.utc)
    headers = {
        "webhook-id": "0193a4c2-7d1e-7c3a-9f10-5b2e8d4a1c07",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("0193a4c2-7d1e-7c3a-9f10-5b2e8d4a1c07", now, body),
    }
    assert client.post("/hooks", data=body, headers=headers).status_code == 204
    assert handled == [json.loads(body)]
    forged = {**headers, "webhook-signature": "v1,AAAA"}
    assert client.post("/hooks", data=body, headers=forged).status_code == 401
    assert len(handled) == 1
