"""The threaded server: free ports, the real dialects behind it, TLS with the CA file, keep-alive."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from flask import Flask
from flask import Response
from flask import request

from mock_idp.app import create_app
from mock_idp.server import MockIdpServer
from mock_idp.state.credentials import default_credentials
from mock_idp.state.directory import Directory


def test_live_server_on_a_free_port(live_server: MockIdpServer, admin_headers: dict[str, str]) -> None:
    assert live_server.port > 0 and live_server.url == f"http://127.0.0.1:{live_server.port}"
    state = requests.get(f"{live_server.url}/_admin/state", headers=admin_headers, timeout=5).json()
    assert state["base_url"] == live_server.url
    assert state["users"] == len(live_server.directory.users)


def test_two_servers_side_by_side(directory: Directory) -> None:
    other = Directory(seed=2)
    with (
        MockIdpServer(directory) as first,
        MockIdpServer(other, config={"DEFAULT_CREDENTIALS": False}) as second,
    ):
        assert first.port != second.port
        assert first.admin_token != second.admin_token


def test_real_dialects_answer_with_the_default_credentials(directory: Directory) -> None:
    creds = default_credentials(directory.seed)
    with MockIdpServer(directory, config={"RATE_LIMITS": {"okta": 50}}) as server:
        okta = requests.get(
            f"{server.url}/api/v1/users?limit=5",
            headers={"Authorization": f"SSWS {creds.okta_api_token}"},
            timeout=5,
        )
        assert okta.status_code == 200 and len(okta.json()) == 5
        assert okta.headers["X-Rate-Limit-Limit"] == "50" and okta.headers["X-Rate-Limit-Remaining"] == "49"
        assert f"<{server.url}/api/v1/users?" in okta.headers["Link"]
        scim = requests.get(
            f"{server.url}/scim/v2/Users?count=1",
            headers={"Authorization": f"Bearer {creds.scim_token}"},
            timeout=5,
        )
        assert scim.status_code == 200 and scim.json()["totalResults"] == len(directory.users)
        refused = requests.get(
            f"{server.url}/api/v1/users", headers={"Authorization": "SSWS wrong"}, timeout=5
        )
        assert refused.status_code == 401 and refused.json()["errorCode"] == "E0000011"


def test_tls_with_the_ca_file(directory: Directory) -> None:
    creds = default_credentials(directory.seed)
    with MockIdpServer(directory, tls=True) as server:
        assert server.url.startswith("https://127.0.0.1:") and server.ca_file is not None
        ca_file = server.ca_file
        response = requests.get(
            f"{server.url}/api/v1/groups",
            headers={"Authorization": f"SSWS {creds.okta_api_token}"},
            verify=str(ca_file),
            timeout=5,
        )
        assert response.status_code == 200 and len(response.json()) == len(directory.groups)
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{server.url}/api/v1/groups", timeout=5)  # the system roots do not know the CA
    assert not ca_file.exists()  # the temporary certificates go with the server


def test_tls_files_in_a_given_directory(directory: Directory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with MockIdpServer(directory, tls=True, cert_dir=tmp_path) as server:
        assert server.ca_file == tmp_path / "ca.pem"
    assert (tmp_path / "ca.pem").exists() and (tmp_path / "server-key.pem").stat().st_mode & 0o077 == 0


def test_stopped_server_refuses_connections(directory: Directory) -> None:
    server = MockIdpServer(directory).start()
    url = server.url
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_admin/state", timeout=2)


def test_default_credentials_get_tokens_in_every_dialect(directory: Directory) -> None:
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    creds = default_credentials(directory.seed)
    with MockIdpServer(directory) as server:
        now = int(time.time())
        claims = {"iss": creds.okta_client_id, "sub": creds.okta_client_id, "iat": now, "exp": now + 300}
        claims.update(aud=f"{server.url}/oauth2/v1/token", jti=str(uuid.uuid4()))
        assertion = jwt.encode(
            {"alg": "RS256", "kid": creds.okta_key_id}, claims, RSAKey.import_key(creds.okta_private_key_pem)
        )
        okta = requests.post(
            f"{server.url}/oauth2/v1/token",
            data={
                "grant_type": "client_credentials",
                "scope": "okta.users.read okta.groups.read",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
            timeout=5,
        )
        assert okta.status_code == 200, okta.text
        graph = requests.post(
            f"{server.url}/{directory.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.graph_client_id,
                "client_secret": creds.graph_client_secret,
                "scope": "https://graph.microsoft.com/.default",
            },
            timeout=5,
        )
        assert graph.status_code == 200, graph.text
        users = requests.get(
            f"{server.url}/v1.0//users?$top=3",
            headers={"Authorization": f"Bearer {graph.json()['access_token']}"},
            timeout=5,
        )
        assert users.status_code == 200 and len(users.json()["value"]) == 3  # the doubled slash is tolerated
        scim = requests.post(
            f"{server.url}/scim/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.scim_client_id,
                "client_secret": creds.scim_client_secret,
            },
            timeout=5,
        )
        assert scim.status_code == 200 and scim.json()["scope"] == "scim.read scim.write"


def test_every_answer_has_one_date_header(directory: Directory) -> None:
    import http.client
    from urllib.parse import urlsplit

    creds = default_credentials(directory.seed)
    with MockIdpServer(directory) as server:
        where = urlsplit(server.url)
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
        conn.request("GET", "/api/v1/users", headers={"Authorization": f"SSWS {creds.okta_api_token}"})
        response = conn.getresponse()
        response.read()
        conn.close()
    assert response.status == 200
    assert len(response.msg.get_all("Date")) == 1


def _app_noting_peers(directory: Directory) -> tuple[Flask, list[str]]:
    """The mock's app, noting the client port of every request it serves: one port, one connection."""
    app = create_app(directory)
    ports: list[str] = []
    app.before_request(lambda: ports.append(request.environ["REMOTE_PORT"]))
    return app, ports


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_requests_of_one_session_share_one_connection(directory: Directory, tls: bool) -> None:
    creds = default_credentials(directory.seed)
    app, ports = _app_noting_peers(directory)
    with MockIdpServer(app, tls=tls) as server, requests.Session() as session:
        session.headers["Authorization"] = f"SSWS {creds.okta_api_token}"
        verify = str(server.ca_file) if tls else True  # per request: REQUESTS_CA_BUNDLE beats session.verify
        answers = [
            session.get(f"{server.url}/api/v1/users?limit=2", verify=verify, timeout=5) for _ in range(5)
        ]
    assert [a.status_code for a in answers] == [200] * 5
    assert all("close" not in a.headers.get("Connection", "").lower() for a in answers)
    assert len(ports) == 5 and len(set(ports)) == 1


def test_a_request_body_the_app_did_not_read_does_not_spoil_the_next_request(directory: Directory) -> None:
    app, ports = _app_noting_peers(directory)
    with MockIdpServer(app) as server, requests.Session() as session:
        refused = session.post(f"{server.url}/_admin/faults", data=b"x" * 100_000, timeout=5)
        assert refused.status_code == 401  # answered before reading the body: the server drains it
        state = session.get(
            f"{server.url}/_admin/state", headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=5
        )
        assert state.status_code == 200 and state.json()["base_url"] == server.url
    assert len(ports) == 2 and len(set(ports)) == 1


def test_streamed_empty_and_head_answers_on_a_kept_connection(directory: Directory) -> None:
    app, ports = _app_noting_peers(directory)
    app.add_url_rule("/_test/stream", "stream", lambda: Response(f"{i}\n" for i in range(3)))
    app.add_url_rule("/_test/empty", "empty", lambda: Response(status=204))
    with MockIdpServer(app) as server, requests.Session() as session:
        streamed = session.get(f"{server.url}/_test/stream", timeout=5)
        assert streamed.headers["Transfer-Encoding"] == "chunked" and streamed.text == "0\n1\n2\n"
        empty = session.get(f"{server.url}/_test/empty", timeout=5)
        assert empty.status_code == 204 and empty.content == b"" and "Transfer-Encoding" not in empty.headers
        head = session.head(f"{server.url}/api/v1/ping", timeout=5)
        assert head.content == b"" and int(head.headers["Content-Length"]) > 0
        assert session.get(f"{server.url}/api/v1/ping", timeout=5).status_code == 401
    assert len(ports) == 4 and len(set(ports)) == 1


def test_ipv6_host(directory: Directory) -> None:
    try:
        server = MockIdpServer(directory, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        assert server.url == f"http://[::1]:{server.port}"
        assert (
            requests.get(
                f"{server.url}/_admin/state",
                headers={"Authorization": f"Bearer {server.admin_token}"},
                timeout=5,
            ).status_code
            == 200
        )


def test_a_busy_port_is_reported_with_its_errno(directory: Directory) -> None:
    import errno

    with MockIdpServer(directory) as server:
        with pytest.raises(OSError) as info:
            MockIdpServer(directory, port=server.port)
    assert info.value.errno == errno.EADDRINUSE


def test_log_requests_writes_one_line_a_request(
    directory: Directory, capfd: pytest.CaptureFixture[str]
) -> None:
    with MockIdpServer(directory, log_requests=True) as server:
        requests.get(f"{server.url}/api/v1/ping?x=1", timeout=5)
    assert '"GET /api/v1/ping?x=1 HTTP/1.1" 401 -' in capfd.readouterr().err
