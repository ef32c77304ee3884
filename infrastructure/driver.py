"""Statements issued at the driver level through SQLAlchemy: written once per dialect
as SQL text and run with ``Connection.exec_driver_sql`` (no compilation per call, rows
as tuples), for the paths where SQLAlchemy's per-statement machinery cost more than the
database's work. Values cross as the driver takes them: SQLite keeps UUIDs as 32 hex
digits (as SQLAlchemy's ``Uuid`` type does there) and dates as ISO text."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID


class DriverSql:
    """SQL text and parameter values for one dialect (``sqlite`` or ``postgresql``)."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"no driver-level SQL for {dialect}")
        self.postgres = dialect == "postgresql"

    def __call__(self, sql: str) -> str:
        """``sql`` written with ``?`` placeholders, in the driver's own style."""
        return sql.replace("%", "%%").replace("?", "%s") if self.postgres else sql

    def uuid(self, value: UUID) -> Any:
        return value if self.postgres else value.hex

    def uuid_out(self, value: Any) -> UUID:
        return value if isinstance(value, UUID) else UUID(hex=value)

    def day(self, value: date | None) -> Any:
        return value if self.postgres or value is None else value.isoformat()

    def day_out(self, value: Any) -> date | None:
        return value if value is None or isinstance(value, date) else date.fromisoformat(value)


def connection_of(session: Any) -> Any:
    """The SQLAlchemy connection of a session's transaction."""
    return session.connection()
