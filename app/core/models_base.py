"""Shared metadata for every table: a naming convention so migrations name constraints predictably."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata


class InstituteRow(SQLModel):
    """The two columns most tables begin with: the row's own id and the institute it belongs
    to (row-level security keys on `institute_id`). Not a table itself."""

    id: int | None = Field(default=None, primary_key=True)
    institute_id: int = Field(foreign_key="institutes.id")


def one_of(column: str, enum: type[StrEnum], *, nullable: bool = False) -> CheckConstraint:
    """The CHECK that keeps `column` to the values of `enum` (named after the column), written
    from the enum so the two never drift apart."""
    allowed = f"{column} IN ({', '.join(repr(e.value) for e in enum)})"
    return CheckConstraint(f"{column} IS NULL OR {allowed}" if nullable else allowed, name=column)
