"""Credentials: bearer tokens for partners (agency, community) and for named auditors
and admins. A token is shown once when issued; only its SHA-256 hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID, uuid4, uuid5

from application.errors import NotFound
from application.idempotency import Idempotency
from application.ledger import Ledger
from domain.errors import InvalidValue
from domain.values import NAME_MAX, Actor, ActorRole, PartnerKind, clean_title

TOKEN_PREFIX = "tutahi_"
HOLDER_NAMESPACE = UUID("3f1c9a4e-7b2d-5e8f-9a6c-1d4b7e0f2a93")


@dataclass(frozen=True)
class Credential:
    id: UUID
    role: ActorRole
    partner_id: UUID | None
    holder_name: str
    token_hash: str
    issued_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class FeedToken:
    """A revocable token in a feed URL (feed readers cannot send headers): it lets a
    partner's feed reader read the feeds of that partner's commitments, nothing else."""

    id: UUID
    partner_id: UUID
    token_hash: str
    issued_at: datetime
    revoked_at: datetime | None


class FeedTokenStore(Protocol):
    def add(self, token: FeedToken) -> None: ...
    def by_hash(self, token_hash: str) -> FeedToken | None: ...
    def revoke(self, token_id: UUID, partner_id: UUID, at: datetime) -> bool: ...
    def of_partner(self, partner_id: UUID) -> list[FeedToken]: ...


class CredentialStore(Protocol):
    def add(self, credential: Credential) -> None: ...
    def by_hash(self, token_hash: str) -> Credential | None: ...
    def get(self, credential_id: UUID) -> Credential | None: ...
    def revoke(self, credential_id: UUID, at: datetime) -> bool: ...
    def all(self) -> list[Credential]: ...


def hash_token(token: str) -> str:
    """Tokens carry 256 random bits, so a fast hash is as safe as a slow one here."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def holder_id(role: ActorRole, name: str) -> UUID:
    """A named auditor or admin keeps one id across all its tokens."""
    return uuid5(HOLDER_NAMESPACE, f"{role.value}:{name}")


@dataclass(frozen=True)
class IssuedToken:
    credential: Credential
    token: str


class Credentials:
    """Issues, checks and revokes tokens."""

    def __init__(self, store: CredentialStore, ledger: Ledger) -> None:
        self.store = store
        self.ledger = ledger

    def issue(
        self,
        role: ActorRole,
        *,
        partner_id: UUID | None = None,
        name: str | None = None,
        now: datetime,
        idempotency: Idempotency | None = None,
    ) -> IssuedToken:
        """Agency and community tokens belong to a partner whose kind fits the role;
        auditor and admin tokens belong to a named office or person."""
        if role in (ActorRole.AGENCY, ActorRole.COMMUNITY):
            if partner_id is None or name is not None:
                raise InvalidValue(
                    "partner",
                    f"{article(role.value)} {role.value} token belongs to a partner (give its id, not a name)",
                )
            partner = self.ledger.get_partner(partner_id)
            is_agency = partner["kind"] == PartnerKind.AGENCY.value
            if is_agency != (role is ActorRole.AGENCY):
                raise InvalidValue(
                    "role",
                    f"{article(partner['kind'])} {partner['kind']} partner cannot hold {article(role.value)} "
                    f"{role.value} token "
                    "(agency tokens are for agency partners, community tokens for the other kinds)",
                )
            holder = partner["name"]
        else:
            if name is None or partner_id is not None:
                raise InvalidValue("name", f"an {role.value} token belongs to a named office or person, not a partner")
            holder = clean_title(name, "name", NAME_MAX)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        credential = Credential(
            id=uuid4(),
            role=role,
            partner_id=partner_id if role in (ActorRole.AGENCY, ActorRole.COMMUNITY) else None,
            holder_name=holder,
            token_hash=hash_token(token),
            issued_at=now,
            revoked_at=None,
        )
        issued = IssuedToken(credential, token)
        with self.ledger.unit_of_work() as tx:
            self.store.add(credential)
            if idempotency is not None:
                idempotency.keep(tx, self.ledger.idempotency, issued)
        return issued

    def authenticate(self, token: str) -> Actor | None:
        """The actor a token stands for, or None if it is unknown or revoked."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        credential = self.store.by_hash(hash_token(token))
        if credential is None or credential.revoked_at is not None:
            return None
        actor = actor_of(credential)
        if credential.partner_id is not None:
            # Events name the partner as it is called now, not when the token was issued.
            row = self.ledger.read_models.partner_row(credential.partner_id)
            if row is not None and row.name != actor.name:
                actor = Actor(actor.role, actor.id, row.name)
        return actor

    def revoke(self, credential_id: UUID, now: datetime) -> Credential:
        if not self.store.revoke(credential_id, now):
            raise NotFound("no such token (or it was already revoked)")
        credential = self.store.get(credential_id)
        assert credential is not None
        return credential

    def list(self) -> list[Credential]:
        return self.store.all()


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: the cookie carries a random session key, the store its
    hash, so signing out (or revoking the token) ends every copy of the cookie."""

    key_hash: str
    credential_id: UUID
    expires_at: datetime


class WebSessionStore(Protocol):
    def add(self, web_session: WebSession, now: datetime) -> None: ...
    def by_hash(self, key_hash: str) -> WebSession | None: ...
    def remove(self, key_hash: str) -> None: ...


class WebSessions:
    def __init__(self, store: WebSessionStore, credentials: Credentials) -> None:
        self.store = store
        self.credentials = credentials

    def begin(self, token: str, now: datetime, lifetime: timedelta) -> tuple[str, Actor] | None:
        """Exchanges a token for a session key (None if the token is unknown)."""
        actor = self.credentials.authenticate(token)
        credential = self.credentials.store.by_hash(hash_token(token)) if actor else None
        if actor is None or credential is None:
            return None
        key = secrets.token_urlsafe(32)
        self.store.add(WebSession(hash_token(key), credential.id, now + lifetime), now)
        return key, actor

    def actor(self, key: str, now: datetime) -> Actor | None:
        """The actor of a live session: not signed out, not expired, token not revoked."""
        web_session = self.store.by_hash(hash_token(key))
        if web_session is None or web_session.expires_at <= now:
            return None
        credential = self.credentials.store.get(web_session.credential_id)
        if credential is None or credential.revoked_at is not None:
            return None
        actor = actor_of(credential)
        if credential.partner_id is not None:
            row = self.credentials.ledger.read_models.partner_row(credential.partner_id)
            if row is not None and row.name != actor.name:
                actor = Actor(actor.role, actor.id, row.name)
        return actor

    def end(self, key: str) -> None:
        self.store.remove(hash_token(key))


FEED_TOKEN_PREFIX = "tutahi_feed_"


class FeedTokens:
    """Issues, checks and revokes partners' feed tokens."""

    def __init__(self, store: FeedTokenStore) -> None:
        self.store = store

    def issue(self, actor: Actor, now: datetime) -> tuple[FeedToken, str]:
        if not actor.is_partner:
            raise InvalidValue("partner", "feed tokens belong to partners")
        token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
        feed = FeedToken(uuid4(), actor.id, hash_token(token), now, None)
        self.store.add(feed)
        return feed, token

    def partner_of(self, token: str) -> UUID | None:
        """The partner whose feed token this is, or None (unknown or revoked)."""
        if not token.startswith(FEED_TOKEN_PREFIX) or len(token) > 200:
            return None
        feed = self.store.by_hash(hash_token(token))
        if feed is None or feed.revoked_at is not None:
            return None
        return feed.partner_id

    def revoke(self, actor: Actor, token_id: UUID, now: datetime) -> None:
        if not self.store.revoke(token_id, actor.id, now):
            raise NotFound("no such feed token of yours (or it was already revoked)")

    def of_partner(self, actor: Actor) -> list[FeedToken]:
        return self.store.of_partner(actor.id)


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def actor_of(credential: Credential) -> Actor:
    if credential.partner_id is not None:
        return Actor(credential.role, credential.partner_id, credential.holder_name)
    return Actor(credential.role, holder_id(credential.role, credential.holder_name), credential.holder_name)
