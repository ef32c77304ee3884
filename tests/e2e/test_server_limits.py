"""What the real server (``tutahi serve``: gunicorn) answers a request too big in any part,
as a problem document with a status the OpenAPI document lists (security review,
findings 6 and 7): the fuzzer's ``GET /partners?q=<8 KB>`` met gunicorn's HTML "414 URI
Too Long" page, and a chunked body over 1 MiB got 400."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.server import running_server, tutahi

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("limits")
    url = f"sqlite:///{folder}/tutahi.db"
    partner = tutahi(url, "partners", "add", "--name", "Department of Internal Affairs", "--kind", "agency")
    token = tutahi(url, "tokens", "issue", "--role", "agency", "--partner", partner.stdout.strip().splitlines()[-1])
    with running_server(url, folder / "server.log") as (base, _):
        yield base, token.stdout.strip().splitlines()[-1]


def raw(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends bytes as they are (no client library tidies them) and reads the answer."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def partners_query(q: str, token: str) -> bytes:
    return f"GET /api/v1/partners?q={q} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


def assert_problem(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict[str, object]:
    assert status == expected, body[:300]
    assert headers["content-type"].startswith("application/problem+json"), headers
    document = json.loads(body)
    assert document["status"] == expected and document["type"].startswith("urn:tutahi:problem:")
    return dict(document)


def documented(base: str, path: str, method: str) -> set[str]:
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    connection.request("GET", "/api/v1/openapi.json")
    document = json.loads(connection.getresponse().read())
    return set(document["paths"][path][method]["responses"])


@pytest.mark.parametrize("size", [8_300, 64_000])
def test_an_over_long_request_line_is_a_414_problem(server: tuple[str, str], size: int) -> None:
    base, token = server
    assert_problem(*raw(base, partners_query("x" * size, token)), 414)
    assert "414" in documented(base, "/api/v1/partners", "get")


def test_a_request_line_of_exactly_the_limit_is_read_and_one_byte_more_is_not(server: tuple[str, str]) -> None:
    base, token = server
    for extra, expected in ((0, 422), (1, 414)):  # read whole, its q is over 200 characters: 422
        query = "x" * (8190 - len("GET /api/v1/partners?q= HTTP/1.1") + extra)
        assert_problem(*raw(base, partners_query(query, token)), expected)


def test_an_over_long_header_is_a_431_problem(server: tuple[str, str]) -> None:
    base, _ = server
    request = f"GET /api/v1/commitments HTTP/1.1\r\nHost: localhost\r\nX-Padding: {'x' * 20_000}\r\n\r\n"
    assert_problem(*raw(base, request.encode()), 431)
    assert "431" in documented(base, "/api/v1/commitments", "get")


def chunked(body: bytes, size: int = 65536) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def test_a_chunked_body_over_1_mib_is_a_413_problem(server: tuple[str, str]) -> None:
    base, token = server
    body = b'{"title": "' + b"x" * (MIB + 10) + b'", "due_on": "2016-01-01"}'
    head = (
        f"POST /api/v1/commitments HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    assert_problem(*raw(base, head.encode() + chunked(body)), 413)
    small = b'{"title": "x"}'
    status, _, answer = raw(base, head.encode() + chunked(small))
    assert status == 422, answer[:300]  # a small chunked body is read whole: its fields are what is wrong


def test_the_server_still_serves_after_all_of_it(server: tuple[str, str]) -> None:
    base, _ = server
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 200
