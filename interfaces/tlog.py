"""``/log/checkpoint`` and ``/log/tile/...``: the log at the paths and in the formats of
C2SP *tlog-tiles*, for the transparency ecosystem's own tools (Go's ``sumdb/tlog``,
witnesses, monitors). These are plain resources (a signed note, binary tiles), not
operations of the JSON API, so they are outside ``/api/v1`` and its OpenAPI document,
as the web pages and feeds are; their errors are problem documents all the same."""

from __future__ import annotations

import gzip

from flask import Blueprint, Response, request

from application.tiles import parse_tile_path
from interfaces.api.http import services

tlog = Blueprint("tlog", __name__, url_prefix="/log")

IMMUTABLE = "public, max-age=31536000, immutable"
OCTETS = "application/octet-stream"


@tlog.get("/checkpoint")
def checkpoint() -> Response:
    """The latest checkpoint as a signed note: the log's signature, then witnesses'."""
    response = Response(services().transparency.checkpoint_note(), mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"  # it changes as the log grows
    return response


@tlog.get("/tile/<path:path>")
def tile(path: str) -> Response:
    """A tile ``<L>/<N>[.p/<W>]`` or an entry bundle ``entries/<N>[.p/<W>]``. Each never
    changes once the log reaches it (a partial one is a different path from the full
    one that replaces it), so every one is cacheable for good."""
    found = parse_tile_path(path)
    body = services().transparency.tile(found)
    response = Response(body, mimetype=OCTETS)
    if found.bundle:
        response.vary.add("Accept-Encoding")
        if request.accept_encodings["gzip"] > 0:
            response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
            response.headers["Content-Encoding"] = "gzip"
    response.headers["Cache-Control"] = IMMUTABLE
    return response
