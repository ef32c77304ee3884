"""``/api/v1/feed-tokens``: partners' private feed links, listed and revoked by admins and
by the partners they belong to (the web pages make them too, for a signed-in partner)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from flask import g
from flask.views import MethodView

from application.credentials import Credential, FeedTokens, MadeWith
from interfaces.api.docs import problems
from interfaces.api.http import ApiBlueprint, Command, records, require_actor, requires, services
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
    @problems(blp, 403)
    @blp.response(200, FeedTokenList)
    @blp.doc(operationId="listFeedTokens")
    def get(self) -> dict[str, Any]:
        """Feed tokens: an admin sees every one, a partner its own (never the secret)."""
        feeds, now = feed_tokens(), datetime.now(UTC)
        items = [feed_token_doc(feed, feeds.is_live(feed, now)) for feed in feeds.visible_to(require_actor())]
        return {"items": items, "next": None}

    @requires()
    @problems(blp, 403, 409)
    @blp.arguments(FeedTokenIssue)
    @records(blp, 201, FeedTokenIssued, etag=False, redact=without_secret)
    @blp.doc(operationId="issueFeedToken")
    def post(self, body: dict[str, Any]) -> Command:
        """A partner makes a feed token for its feed reader.

        The token goes in ``?token=`` on a feed or calendar URL; it is bound to the token
        that made it and stops working when that token is revoked."""
        days = body["expires_in_days"]
        return Command(
            lambda idempotency: feed_tokens().issue(
                require_actor(),
                bearer_credential(),
                MadeWith.TOKEN,
                datetime.now(UTC),
                timedelta(days=days) if days is not None else None,
                idempotency=idempotency,
            ),
            lambda issued: feed_token_doc(issued[0], True, issued[1], with_token=True),
        )


@blp.route("/feed-tokens/<uuid:feed_token_id>")
class FeedTokenResource(MethodView):
    @requires()
    @problems(blp, 403)
    @blp.response(200, FeedTokenSchema)
    @blp.doc(operationId="revokeFeedToken")
    def delete(self, feed_token_id: UUID) -> dict[str, Any]:
        """Revoke a feed token (an admin any, a partner its own); it stops working at once."""
        feeds = feed_tokens()
        return feed_token_doc(feeds.revoke(require_actor(), feed_token_id, datetime.now(UTC)), False)
