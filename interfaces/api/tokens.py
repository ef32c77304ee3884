"""``/api/v1/tokens``: the admin API for credentials (the CLI does the same)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from flask.views import MethodView

from domain.values import ActorRole
from interfaces.api.docs import WRITE, problems
from interfaces.api.http import ApiBlueprint, Command, records, requires, services
from interfaces.api.schemas import TokenIssue, TokenIssued, TokenList, TokenSchema
from interfaces.api.views import credential_doc

blp = ApiBlueprint("tokens", __name__, url_prefix="/api/v1", description="Credentials (admins)")


def without_secret(body: dict[str, Any]) -> dict[str, Any]:
    """Only the token's hash is ever stored, so a replayed response cannot carry it."""
    return {**body, "token": None}


@blp.route("/tokens")
class Tokens(MethodView):
    @requires(ActorRole.ADMIN)
    @problems(blp, 403)
    @blp.response(200, TokenList)
    @blp.doc(operationId="listTokens")
    def get(self) -> dict[str, Any]:
        """Every token: ids, roles, holders, never the secret."""
        return {"items": [credential_doc(c) for c in services().credentials.list()], "next": None}

    @requires(ActorRole.ADMIN)
    @problems(blp, *WRITE)
    @blp.arguments(TokenIssue)
    @records(blp, 201, TokenIssued, etag=False, redact=without_secret)
    @blp.doc(operationId="issueToken")
    def post(self, body: dict[str, Any]) -> Command:
        """Issue a token; its secret is shown once.

        Agency and community tokens are for a partner whose kind fits the role; auditor and
        admin tokens for a named office or person."""
        return Command(
            lambda idempotency: services().credentials.issue(
                ActorRole(body["role"]),
                partner_id=body["partner_id"],
                name=body["name"],
                now=datetime.now(UTC),
                idempotency=idempotency,
            ),
            lambda issued: credential_doc(issued.credential, issued.token, with_token=True),
        )


@blp.route("/tokens/<uuid:token_id>")
class TokenResource(MethodView):
    @requires(ActorRole.ADMIN)
    @problems(blp, 403)
    @blp.response(200, TokenSchema)
    @blp.doc(operationId="revokeToken")
    def delete(self, token_id: UUID) -> dict[str, Any]:
        """Revoke a token; it is unknown from then on."""
        return credential_doc(services().credentials.revoke(token_id, datetime.now(UTC)))
