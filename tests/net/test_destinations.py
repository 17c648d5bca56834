"""The SSRF guard: webhooks go to https URLs of public hosts only, unless allowed for testing."""

from __future__ import annotations

import ipaddress

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from connector.net.destinations import DestinationRefused
from connector.net.destinations import check_destination
from connector.net.destinations import check_url
from connector.net.destinations import refused_address
from connector.net.webhook_post import post_signed

NOT_PUBLIC = [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "240.0.0.1",
]  # fmt: skip
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.4.4"]


def resolver(*addresses: str):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_loopback_private_link_local_and_the_like_are_refused(address: str) -> None:
    assert refused_address(address) is not None
    with pytest.raises(DestinationRefused, match="public hosts only"):
        check_destination("https://hooks.example.com/in", resolve=resolver(address))
    assert check_destination("https://hooks.example.com/in", allow_private=True, resolve=resolver(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refused_address(address) is None
    assert check_destination("https://hooks.example.com/in", resolve=resolver(address)) == [address]


@given(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
                        "100.64.0.0/10"]), st.integers(0, 2**32 - 1))  # fmt: skip
def test_every_address_of_a_private_network_is_refused(network: str, n: int) -> None:
    net = ipaddress.ip_network(network)
    address = str(net.network_address + n % net.num_addresses)
    assert refused_address(address) is not None


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    with pytest.raises(DestinationRefused, match="10.0.0.7"):
        check_destination("https://hooks.example.com/", resolve=resolver("8.8.8.8", "10.0.0.7"))


@pytest.mark.parametrize(
    ("url", "allow_http", "why"),
    [
        ("http://hooks.example.com/in", False, "must be https"),
        ("ftp://hooks.example.com/in", True, "must be https"),
        ("https:///path", False, "names no host"),
        ("https://user:pw@hooks.example.com/", False, "no user name or password"),
        ("hooks.example.com/in", False, "must be https"),
    ],
)
def test_urls_the_guard_refuses(url: str, allow_http: bool, why: str) -> None:
    with pytest.raises(DestinationRefused, match=why):
        check_url(url, allow_http=allow_http)


def test_http_only_when_allowed() -> None:
    assert check_url("http://localhost:9000/hooks", allow_http=True)
    assert check_url("https://hooks.example.com/in")


def test_a_post_to_a_refused_destination_is_never_sent() -> None:
    class Unsent(requests.Session):
        def post(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise AssertionError("posted to a refused destination")

    outcome = post_signed(
        Unsent(), "http://127.0.0.1:9/hooks", "{}", message_id="m", secret="whsec_" + "A" * 43,
        resolve=resolver("127.0.0.1"),
    )  # fmt: skip
    assert not outcome.delivered and outcome.error and "loopback" in outcome.error
