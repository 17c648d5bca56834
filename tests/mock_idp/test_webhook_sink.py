"""``mock-idp webhook-sink``: verifies Standard Webhooks signatures, records posts, answers faults."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from datetime import timezone

import requests
from standardwebhooks.webhooks import Webhook

SECRET = "whsec_" + "c2luay1zZWNyZXQta2V5LWZvci10aGUtdGVzdHMtMDEy"


def signed(body: str, message_id: str, secret: str = SECRET) -> dict[str, str]:
    now = datetime.now(timezone.utc)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
        "content-type": "application/json",
    }


def test_the_sink_command_verifies_records_and_answers_its_faults() -> None:
    sink = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_idp",
            "webhook-sink",
            "--port",
            "0",
            "--fault",
            "500",
            "--fault",
            "close",
        ],
        env={**os.environ, "MOCK_IDP_WEBHOOK_SECRET": SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sink.stdout is not None
        banner = re.match(r"mock-idp webhook-sink on (\S+)", sink.stdout.readline())
        assert banner
        url = banner.group(1)
        body = '{"id": "e1", "type": "account.created"}'
        assert requests.post(url, data=body, headers=signed(body, "e1"), timeout=10).status_code == 500
        try:
            requests.post(url, data=body, headers=signed(body, "e1"), timeout=10)
            raise AssertionError("the close fault answered")
        except requests.ConnectionError:
            pass
        assert requests.post(url, data=body, headers=signed(body, "e1"), timeout=10).status_code == 204
        other = "whsec_" + "b3RoZXItc2VjcmV0LWtleS1mb3ItdGhlLXRlc3RzLTAx"
        assert requests.post(url, data=body, headers=signed(body, "e2", other), timeout=10).status_code == 401
        got = requests.get(url.rsplit("/", 1)[0] + "/_sink/received", timeout=10).json()
        assert [(g["webhook_id"], g["verified"], g["status"], g["fault"]) for g in got] == [
            ("e1", True, 500, "500"),
            ("e1", True, 0, "close"),
            ("e1", True, 204, None),
            ("e2", False, 401, None),
        ]
        assert got[2]["event"] == {"id": "e1", "type": "account.created"}
    finally:
        sink.terminate()
        sink.wait(10)
        if sink.stdout is not None:
            sink.stdout.close()
