"""``/log/checkpoint`` and ``/log/tile/...``: the log at the paths and in the formats of
C2SP *tlog-tiles*, for the transparency ecosystem's own tools (Go's ``sumdb/tlog``,
witnesses, monitors). These are plain resources (a signed note, binary tiles), not
operations of the JSON API, so they are outside ``/api/v1`` and its OpenAPI document,
as the web pages and feeds are; their errors are problem documents all the same.

The checkpoint and the hash tiles are public: they reveal hashes only. Entry bundles
hold every event's document, partners-only commitments' included, so they are for
auditors and admins, as ``GET /api/v1/events`` and the export are."""

from __future__ import annotations

import gzip

from flask import Blueprint, Response, request

from application.tiles import NoSuchTile, parse_tile_path
from domain.values import ActorRole
from interfaces.api.http import requires, services

tlog = Blueprint("tlog", __name__, url_prefix="/log")

IMMUTABLE = "max-age=31536000, immutable"
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
    """A tile ``<L>/<N>[.p/<W>]`` of hashes. It never changes once the log reaches it (a
    partial one is a different path from the full one that replaces it), so it is
    cacheable by anyone, for good."""
    found = parse_tile_path(path)
    if found.bundle:  # bundles are the route below, for auditors only
        raise NoSuchTile(f"no such tile: {path}")
    response = Response(services().transparency.tile(found), mimetype=OCTETS)
    response.headers["Cache-Control"] = f"public, {IMMUTABLE}"
    return response


@tlog.get("/tile/entries/<path:path>")
@requires(*(role for role in ActorRole if role.sees_everything))
def entries(path: str) -> Response:
    """An entry bundle ``<N>[.p/<W>]``: each entry's stored bytes, length-prefixed;
    gzipped when the client accepts it. Immutable too, but fetched with a token, so not
    stored by caches."""
    found = parse_tile_path(f"entries/{path}")
    body = services().transparency.tile(found)
    response = Response(body, mimetype=OCTETS)
    response.vary.add("Accept-Encoding")
    if request.accept_encodings["gzip"] > 0:
        response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
    # No Cache-Control of its own: a response to a request that carried a token is never
    # stored by any cache (``no-store``, set for every such response).
    return response
