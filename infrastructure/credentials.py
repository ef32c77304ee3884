"""The credential store: token hashes (never tokens) in the event store's database."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Column, String, Table, Text, Uuid, delete, inspect, select, update
from sqlalchemy.exc import OperationalError

from application.credentials import Credential, FeedToken, MadeWith, WebSession
from domain.values import ActorRole
from infrastructure.driver import DriverSql
from infrastructure.readmodels import from_us, to_us
from infrastructure.tables import metadata

credentials = Table(
    "tutahi_credentials",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("role", String(20), nullable=False),
    Column("partner_id", Uuid),
    Column("holder_name", Text, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("issued_us", BigInteger, nullable=False),
    Column("revoked_us", BigInteger),
)


class SqlCredentialStore:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        with recorder.transaction(commit=True) as session:
            metadata.create_all(session.connection(), tables=[credentials], checkfirst=True)
            self.sql = DriverSql(session.connection().dialect.name)
        # Every request with a token: one indexed read (the hash is unique) at the driver
        # level, with the partner's name as the directory has it now.
        self._named = self.sql(
            "SELECT c.id, c.role, c.partner_id, c.holder_name, c.token_hash, c.issued_us, c.revoked_us, p.name "
            "FROM tutahi_credentials c LEFT JOIN rm_partners p ON p.id = c.partner_id WHERE c.token_hash = ?"
        )

    @staticmethod
    def _credential(row: Any) -> Credential:
        return Credential(
            id=row.id,
            role=ActorRole(row.role),
            partner_id=row.partner_id,
            holder_name=row.holder_name,
            token_hash=row.token_hash,
            issued_at=from_us(row.issued_us),
            revoked_at=from_us(row.revoked_us) if row.revoked_us is not None else None,
        )

    def add(self, credential: Credential) -> None:
        with self.recorder.transaction(commit=True) as session:
            session.execute(
                credentials.insert().values(
                    id=credential.id,
                    role=credential.role.value,
                    partner_id=credential.partner_id,
                    holder_name=credential.holder_name,
                    token_hash=credential.token_hash,
                    issued_us=to_us(credential.issued_at),
                    revoked_us=None,
                )
            )

    def by_hash(self, token_hash: str) -> Credential | None:
        with self.recorder.transaction(commit=False) as session:
            row = session.execute(select(credentials).where(credentials.c.token_hash == token_hash)).first()
        return self._credential(row) if row else None

    def by_hash_named(self, token_hash: str) -> tuple[Credential, str | None] | None:
        with self.recorder.transaction(commit=False) as session:
            row = session.connection().exec_driver_sql(self._named, (token_hash,)).first()
        if row is None:
            return None
        credential_id, role, partner_id, holder_name, _, issued_us, revoked_us, partner_name = row
        credential = Credential(
            id=self.sql.uuid_out(credential_id),
            role=ActorRole(role),
            partner_id=self.sql.uuid_out(partner_id) if partner_id is not None else None,
            holder_name=holder_name,
            token_hash=token_hash,
            issued_at=from_us(issued_us),
            revoked_at=from_us(revoked_us) if revoked_us is not None else None,
        )
        return credential, partner_name

    def get(self, credential_id: UUID) -> Credential | None:
        with self.recorder.transaction(commit=False) as session:
            row = session.execute(select(credentials).where(credentials.c.id == credential_id)).first()
        return self._credential(row) if row else None

    def revoke(self, credential_id: UUID, at: datetime) -> bool:
        with self.recorder.transaction(commit=True) as session:
            result = session.execute(
                update(credentials)
                .where(credentials.c.id == credential_id, credentials.c.revoked_us.is_(None))
                .values(revoked_us=to_us(at))
            )
            return bool(getattr(result, "rowcount", 0))

    def all(self) -> list[Credential]:
        with self.recorder.transaction(commit=False) as session:
            rows = session.execute(select(credentials).order_by(credentials.c.issued_us, credentials.c.id))
            return [self._credential(row) for row in rows]

    def live_of_partner(self, partner_id: UUID) -> list[Credential]:
        query = select(credentials).where(credentials.c.partner_id == partner_id, credentials.c.revoked_us.is_(None))
        with self.recorder.transaction(commit=False) as session:
            return [self._credential(row) for row in session.execute(query)]


feed_tokens = Table(
    "tutahi_feed_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("partner_id", Uuid, nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("issued_us", BigInteger, nullable=False),
    Column("revoked_us", BigInteger),
    # Added when feed tokens were bound to the credential that made them, and could expire:
    # null in rows made before.
    Column("credential_id", Uuid),
    Column("made_with", String(10)),
    Column("expires_us", BigInteger),
)
ADDED_FEED_TOKEN_COLUMNS = ("credential_id", "made_with", "expires_us")


def add_missing_columns(connection: Any, table: Table, names: tuple[str, ...]) -> None:
    """Adds columns a table of an earlier release lacks (nullable, so no row needs a
    value). Two processes starting at once may both try: PostgreSQL's ``IF NOT EXISTS``
    lets the second pass; on SQLite (one writer at a time) the loser finds them added."""
    present = {column["name"] for column in inspect(connection).get_columns(table.name)}
    postgres = connection.dialect.name == "postgresql"
    for name in names:
        if name in present:
            continue
        kind = table.c[name].type.compile(dialect=connection.dialect)
        guard = "IF NOT EXISTS " if postgres else ""
        try:
            connection.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {guard}{name} {kind}")
        except OperationalError:
            if name not in {c["name"] for c in inspect(connection).get_columns(table.name)}:
                raise


class SqlFeedTokenStore:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        with recorder.transaction(commit=True) as session:
            metadata.create_all(session.connection(), tables=[feed_tokens], checkfirst=True)
            add_missing_columns(session.connection(), feed_tokens, ADDED_FEED_TOKEN_COLUMNS)

    @staticmethod
    def _token(row: Any) -> FeedToken:
        return FeedToken(
            id=row.id,
            partner_id=row.partner_id,
            token_hash=row.token_hash,
            issued_at=from_us(row.issued_us),
            revoked_at=from_us(row.revoked_us) if row.revoked_us is not None else None,
            credential_id=row.credential_id,
            made_with=MadeWith(row.made_with) if row.made_with else None,
            expires_at=from_us(row.expires_us) if row.expires_us is not None else None,
        )

    def add(self, token: FeedToken) -> None:
        with self.recorder.transaction(commit=True) as session:
            session.execute(
                feed_tokens.insert().values(
                    id=token.id,
                    partner_id=token.partner_id,
                    token_hash=token.token_hash,
                    issued_us=to_us(token.issued_at),
                    revoked_us=None,
                    credential_id=token.credential_id,
                    made_with=token.made_with.value if token.made_with else None,
                    expires_us=to_us(token.expires_at) if token.expires_at else None,
                )
            )

    def by_hash(self, token_hash: str) -> FeedToken | None:
        with self.recorder.transaction(commit=False) as session:
            row = session.execute(select(feed_tokens).where(feed_tokens.c.token_hash == token_hash)).first()
        return self._token(row) if row else None

    def get(self, token_id: UUID) -> FeedToken | None:
        with self.recorder.transaction(commit=False) as session:
            row = session.execute(select(feed_tokens).where(feed_tokens.c.id == token_id)).first()
        return self._token(row) if row else None

    def revoke(self, token_id: UUID, at: datetime) -> bool:
        with self.recorder.transaction(commit=True) as session:
            result = session.execute(
                update(feed_tokens)
                .where(feed_tokens.c.id == token_id, feed_tokens.c.revoked_us.is_(None))
                .values(revoked_us=to_us(at))
            )
            return bool(getattr(result, "rowcount", 0))

    def of_partner(self, partner_id: UUID) -> list[FeedToken]:
        query = (
            select(feed_tokens)
            .where(feed_tokens.c.partner_id == partner_id)
            .order_by(feed_tokens.c.issued_us, feed_tokens.c.id)
        )
        with self.recorder.transaction(commit=False) as session:
            return [self._token(row) for row in session.execute(query)]

    def all(self) -> list[FeedToken]:
        query = select(feed_tokens).order_by(feed_tokens.c.issued_us, feed_tokens.c.id)
        with self.recorder.transaction(commit=False) as session:
            return [self._token(row) for row in session.execute(query)]


web_sessions = Table(
    "tutahi_web_sessions",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("credential_id", Uuid, nullable=False),
    Column("expires_us", BigInteger, nullable=False, index=True),
)


class SqlWebSessionStore:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        with recorder.transaction(commit=True) as session:
            metadata.create_all(session.connection(), tables=[web_sessions], checkfirst=True)

    def add(self, web_session: WebSession, now: datetime) -> None:
        with self.recorder.transaction(commit=True) as session:
            session.execute(delete(web_sessions).where(web_sessions.c.expires_us < to_us(now)))
            session.execute(
                web_sessions.insert().values(
                    key_hash=web_session.key_hash,
                    credential_id=web_session.credential_id,
                    expires_us=to_us(web_session.expires_at),
                )
            )

    def by_hash(self, key_hash: str) -> WebSession | None:
        with self.recorder.transaction(commit=False) as session:
            row = session.execute(select(web_sessions).where(web_sessions.c.key_hash == key_hash)).first()
        return WebSession(row.key_hash, row.credential_id, from_us(row.expires_us)) if row else None

    def remove(self, key_hash: str) -> None:
        with self.recorder.transaction(commit=True) as session:
            session.execute(delete(web_sessions).where(web_sessions.c.key_hash == key_hash))
