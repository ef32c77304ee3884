"""``/api/v1/feed-tokens``: partners' private feed links, listed and revoked by admins and
by the partners they belong to (the web pages make them too, for a signed-in partner)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from flask import g
from flask.views import MethodView

from application.credentials import Credential, FeedTokens, MadeWith
from interfaces.api.commitments import IDEMPOTENCY_KEY
from interfaces.api.docs import READ, WRITE, problems
from interfaces.api.http import ApiBlueprint, idempotent, require_actor, requires, services
from interfaces.api.problems import Problem
from interfaces.api.schemas import FeedTokenIssue, FeedTokenIssued, FeedTokenList, FeedTokenSchema
from interfaces.api.tokens import without_secret
from interfaces.api.views import feed_token_doc

blp = ApiBlueprint("feed-tokens", __name__, url_prefix="/api/v1", description="Partners' private feed links")


def feed_tokens() -> FeedTokens:
    return FeedTokens(services().feed_tokens, services().credentials)


def bearer_credential() -> Credential:
    credential = g.get("credential")
    if not isinstance(credential, Credential):
        raise Problem(401, "this needs a token: Authorization: Bearer <token>", code="unauthorised")
    return credential


@blp.route("/feed-tokens")
class FeedTokenCollection(MethodView):
    @requires()
    @problems(blp, *READ, 403)
    @blp.response(200, FeedTokenList)
    def get(self) -> dict[str, Any]:
        """Feed tokens: an admin sees every one, a partner its own (never the secret)."""
        feeds, now = feed_tokens(), datetime.now(UTC)
        items = [feed_token_doc(feed, feeds.is_live(feed, now)) for feed in feeds.visible_to(require_actor())]
        return {"items": items, "next": None}

    @requires()
    @idempotent(redact=without_secret)
    @problems(blp, *WRITE)
    @blp.arguments(FeedTokenIssue)
    @blp.response(201, FeedTokenIssued)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    def post(self, body: dict[str, Any]) -> Any:
        """A partner makes a feed token for its feed reader (``?token=`` on a feed or calendar
        URL), bound to the token that made it: it stops working when that token is revoked."""
        days = body["expires_in_days"]
        feed, token = feed_tokens().issue(
            require_actor(),
            bearer_credential(),
            MadeWith.TOKEN,
            datetime.now(UTC),
            timedelta(days=days) if days is not None else None,
        )
        return feed_token_doc(feed, True, token, with_token=True), 201


@blp.route("/feed-tokens/<uuid:feed_token_id>")
class FeedTokenResource(MethodView):
    @requires()
    @problems(blp, *READ, 403)
    @blp.response(200, FeedTokenSchema)
    def delete(self, feed_token_id: UUID) -> dict[str, Any]:
        """Revoke a feed token (an admin any, a partner its own); it stops working at once."""
        feeds = feed_tokens()
        return feed_token_doc(feeds.revoke(require_actor(), feed_token_id, datetime.now(UTC)), False)
