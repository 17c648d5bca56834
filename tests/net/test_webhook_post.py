"""Signed posts: any body signs so that a Standard Webhooks verifier accepts it, and no other."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from connector.net.webhook_post import new_secret
from connector.net.webhook_post import post_signed
from connector.net.webhook_post import signed_headers
from mock_idp.sink import Sink
from mock_idp.sink import SinkServer

SECRET = new_secret()


@given(body=st.text(), message_id=st.text(alphabet="0123456789abcdef-", min_size=1, max_size=36))
def test_any_body_verifies_with_its_secret(body: str, message_id: str) -> None:
    headers = signed_headers(SECRET, message_id, body)
    assert headers["webhook-id"] == message_id
    Webhook(SECRET).verify(body, headers, json_parse=False)


@given(body=st.text(min_size=1), tamper=st.text(min_size=1))
def test_a_changed_body_or_another_secret_does_not_verify(body: str, tamper: str) -> None:
    headers = signed_headers(SECRET, "m1", body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers, json_parse=False)
    if tamper != body:
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET).verify(tamper, headers, json_parse=False)


def test_new_secrets_are_standard_and_distinct() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50 and all(s.startswith("whsec_") and len(s) == 50 for s in secrets)


def test_the_post_goes_to_the_checked_address_not_to_a_second_resolution() -> None:
    with SinkServer(Sink(SECRET)) as server, requests.Session() as session:
        port = urlsplit(server.url).port
        url = f"http://sink.invalid:{port}/hooks"  # a name no DNS answers: only the pin reaches the sink
        done = post_signed(
            session,
            url,
            "{}",
            message_id="m1",
            secret=SECRET,
            allow_private=True,
            resolve=lambda h, p: ["127.0.0.1"],
        )
        assert done.delivered and server.sink.delivered_ids() == ["m1"]
        moved = post_signed(
            session,
            url,
            "{}",
            message_id="m2",
            secret=SECRET,
            allow_private=True,
            resolve=lambda h, p: ["127.0.0.2"],
        )
        assert not moved.delivered and server.sink.delivered_ids() == ["m1"]  # the new address, not the old
        again = post_signed(
            session,
            url,
            "{}",
            message_id="m3",
            secret=SECRET,
            allow_private=True,
            resolve=lambda h, p: ["127.0.0.1"],
        )
        assert again.delivered and server.sink.delivered_ids() == ["m1", "m3"]
