"""Credentials: bearer tokens for partners (agency, community) and for named auditors
and admins. A token is shown once when issued; only its SHA-256 hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol
from uuid import UUID, uuid4, uuid5

from application.errors import Forbidden, NotFound
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


class MadeWith(Enum):
    """How a feed token was made: with a bearer token, or in a signed-in web session."""

    TOKEN = "token"
    SESSION = "session"


@dataclass(frozen=True)
class FeedToken:
    """A revocable token in a feed URL (feed readers cannot send headers): it lets a
    partner's feed reader read the feeds of that partner's commitments, nothing else.

    It is bound to the credential that made it (the bearer token, or the token a web
    session was signed in with) and stops working when that credential is revoked, when
    it is revoked itself, or when it expires. Feed tokens made before they were bound
    (``credential_id`` None) work while their partner holds any live credential."""

    id: UUID
    partner_id: UUID
    token_hash: str
    issued_at: datetime
    revoked_at: datetime | None
    credential_id: UUID | None = None
    made_with: MadeWith | None = None
    expires_at: datetime | None = None

    def unexpired(self, now: datetime) -> bool:
        """Not revoked and not expired (its credential is checked apart)."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class FeedTokenStore(Protocol):
    def add(self, token: FeedToken) -> None: ...
    def by_hash(self, token_hash: str) -> FeedToken | None: ...
    def get(self, token_id: UUID) -> FeedToken | None: ...
    def revoke(self, token_id: UUID, at: datetime) -> bool: ...
    def of_partner(self, partner_id: UUID) -> list[FeedToken]: ...
    def all(self) -> list[FeedToken]: ...


class CredentialStore(Protocol):
    def add(self, credential: Credential) -> None: ...
    def by_hash(self, token_hash: str) -> Credential | None: ...
    def by_hash_named(self, token_hash: str) -> tuple[Credential, str | None] | None:
        """The credential with this hash, and its partner's name now (None for a
        holder that is not a partner, or a partner the directory does not hold)."""
        ...

    def get(self, credential_id: UUID) -> Credential | None: ...
    def revoke(self, credential_id: UUID, at: datetime) -> bool: ...
    def all(self) -> list[Credential]: ...
    def live_of_partner(self, partner_id: UUID) -> list[Credential]: ...


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
            try:
                partner = self.ledger.get_partner(partner_id)
            except NotFound:
                # The request names a partner that does not exist: a bad field, not a
                # missing resource at the URL.
                raise InvalidValue("partner", f"no such partner: {partner_id}") from None
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
        checked = self.check(token)
        return checked[1] if checked else None

    def check(self, token: str) -> tuple[Credential, Actor] | None:
        """The live credential a token is, and the actor it stands for (None if the token
        is unknown or revoked)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        # One read, on every request: no cache, so a revocation holds at once in every process.
        found = self.store.by_hash_named(hash_token(token))
        if found is None or found[0].revoked_at is not None:
            return None
        credential, partner_name = found
        return credential, named(actor_of(credential), partner_name)

    def actor(self, credential: Credential) -> Actor:
        """The actor of a credential; events name a partner as it is called now, not as it
        was called when the token was issued."""
        actor = actor_of(credential)
        if credential.partner_id is None:
            return actor
        row = self.ledger.read_models.partner_row(credential.partner_id)
        return named(actor, row.name if row is not None else None)

    def is_live(self, credential_id: UUID) -> bool:
        credential = self.store.get(credential_id)
        return credential is not None and credential.revoked_at is None

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
        checked = self.credentials.check(token)
        if checked is None:
            return None
        credential, actor = checked
        key = secrets.token_urlsafe(32)
        self.store.add(WebSession(hash_token(key), credential.id, now + lifetime), now)
        return key, actor

    def actor(self, key: str, now: datetime) -> Actor | None:
        """The actor of a live session: not signed out, not expired, token not revoked."""
        live = self.live(key, now)
        return live[1] if live else None

    def live(self, key: str, now: datetime) -> tuple[Credential, Actor] | None:
        """The credential a live session was signed in with, and its actor."""
        web_session = self.store.by_hash(hash_token(key))
        if web_session is None or web_session.expires_at <= now:
            return None
        credential = self.credentials.store.get(web_session.credential_id)
        if credential is None or credential.revoked_at is not None:
            return None
        return credential, self.credentials.actor(credential)

    def end(self, key: str) -> None:
        self.store.remove(hash_token(key))


FEED_TOKEN_PREFIX = "tutahi_feed_"


class FeedTokens:
    """Issues, checks, lists and revokes partners' feed tokens."""

    def __init__(self, store: FeedTokenStore, credentials: Credentials) -> None:
        self.store = store
        self.credentials = credentials

    def issue(
        self,
        actor: Actor,
        credential: Credential,
        made_with: MadeWith,
        now: datetime,
        lifetime: timedelta | None = None,
        idempotency: Idempotency | None = None,
    ) -> tuple[FeedToken, str]:
        """A feed token for the actor's partner, bound to the credential it acts with (given
        directly, or by the session it signed in); shown once. ``lifetime``: it expires
        then (None: when revoked, itself or its credential)."""
        if not actor.is_partner or credential.partner_id != actor.id:
            raise Forbidden("feed tokens belong to partners: sign in or send a partner's token")
        if lifetime is not None and lifetime <= timedelta(0):
            raise InvalidValue("expires_in_days", "must be a positive number of days")
        token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = now + lifetime if lifetime is not None else None
        feed = FeedToken(uuid4(), actor.id, hash_token(token), now, None, credential.id, made_with, expires_at)
        ledger = self.credentials.ledger
        with ledger.unit_of_work() as tx:
            self.store.add(feed)
            if idempotency is not None:
                idempotency.keep(tx, ledger.idempotency, (feed, token))
        return feed, token

    def is_live(self, feed: FeedToken, now: datetime) -> bool:
        """Not revoked, not expired, and its credential not revoked."""
        if not feed.unexpired(now):
            return False
        if feed.credential_id is None:
            return bool(self.credentials.store.live_of_partner(feed.partner_id))
        return self.credentials.is_live(feed.credential_id)

    def partner_of(self, token: str, now: datetime) -> UUID | None:
        """The partner whose live feed token this is, or None."""
        if not token.startswith(FEED_TOKEN_PREFIX) or len(token) > 200:
            return None
        feed = self.store.by_hash(hash_token(token))
        if feed is None or not self.is_live(feed, now):
            return None
        return feed.partner_id

    def visible_to(self, actor: Actor) -> list[FeedToken]:
        """An admin sees every feed token; a partner its own."""
        if actor.role is ActorRole.ADMIN:
            return self.store.all()
        if actor.is_partner:
            return self.store.of_partner(actor.id)
        raise Forbidden("feed tokens are listed to admins and to the partners they belong to")

    def revoke(self, actor: Actor, token_id: UUID, now: datetime) -> FeedToken:
        """An admin revokes any feed token, a partner its own (another's is not found)."""
        if not (actor.role is ActorRole.ADMIN or actor.is_partner):
            raise Forbidden("feed tokens are revoked by admins and by the partners they belong to")
        feed = self.store.get(token_id)
        if feed is None or not (actor.role is ActorRole.ADMIN or feed.partner_id == actor.id):
            raise NotFound("no such feed token of yours")
        if not self.store.revoke(token_id, now):
            raise NotFound("that feed token was already revoked")
        revoked = self.store.get(token_id)
        assert revoked is not None
        return revoked

    def of_partner(self, actor: Actor, now: datetime) -> list[FeedToken]:
        """The partner's feed tokens that still work."""
        return [feed for feed in self.store.of_partner(actor.id) if self.is_live(feed, now)]


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def named(actor: Actor, name: str | None) -> Actor:
    """The actor under the name its partner has now (as it is, without one)."""
    return actor if name is None or name == actor.name else Actor(actor.role, actor.id, name)


def actor_of(credential: Credential) -> Actor:
    if credential.partner_id is not None:
        return Actor(credential.role, credential.partner_id, credential.holder_name)
    return Actor(credential.role, holder_id(credential.role, credential.holder_name), credential.holder_name)
