"""The admin token cannot be guessed: random unless ``--admin-token`` names one; compared in constant time."""

from __future__ import annotations

from mock_idp.app import create_app
from mock_idp.state.directory import Directory
from mock_idp.state.records import ApiToken


def test_two_mocks_with_one_seed_have_different_admin_tokens() -> None:
    first = create_app(Directory(seed=7)).extensions["mock_idp"].admin_token
    second = create_app(Directory(seed=7)).extensions["mock_idp"].admin_token
    assert first != second
    assert len(first) >= 32


def test_a_configured_admin_token_is_used_as_given() -> None:
    app = create_app(Directory(seed=7), config={"ADMIN_TOKEN": "my-admin-token"})
    assert app.extensions["mock_idp"].admin_token == "my-admin-token"


def test_access_and_api_tokens_are_found_by_a_constant_time_comparison() -> None:
    directory = Directory(seed=1)
    issued = directory.issue_token("client-1", "okta", ("okta.users.read",))
    directory.add_api_token(ApiToken(dialect="scim", token="static-scim-token-123", name="scim"))
    assert directory.find_issued_token(issued.token) == issued
    assert directory.find_issued_token(issued.token[:-1] + "x") is None
    assert directory.find_api_token("static-scim-token-123") is not None
    assert directory.find_api_token("static-scim-token-124") is None
    assert directory.find_api_token(issued.token) is None  # an access token is no API token
    # found by digest: no stored token is compared character by character with a guess
    assert issued.token not in directory._by_digest and len(directory._by_digest) == 2
