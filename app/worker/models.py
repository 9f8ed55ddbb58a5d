"""Job runs (what the worker did, when, with what outcome) and the worker's lease and heartbeat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core import clock, models_base  # noqa: F401  (naming convention first)


class JobRun(SQLModel, table=True):
    """One run of a job for a period; (job, period) is unique so a period never runs twice."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "period"),
        Index("ix_job_runs_started_at", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=80)
    period: str = Field(max_length=80)
    started_at: datetime = Field(default_factory=clock.now)
    finished_at: datetime | None = Field(default=None)
    outcome: str = Field(default="running", max_length=20)  # running | ok | failed
    counts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = Field(default=None, max_length=2000)
    trigger: str = Field(default="schedule", max_length=20)  # schedule | manual


class JobInstituteRun(SQLModel, table=True):
    """One institute done for one run period of a per-institute job, written in the same
    transaction as that institute's work: a rerun of the period skips the institutes done and
    retries only the ones that failed (or never ran)."""

    __tablename__ = "job_institute_runs"
    __table_args__ = (UniqueConstraint("job", "period", "institute_id"),)

    id: int | None = Field(default=None, primary_key=True)
    institute_id: int = Field(foreign_key="institutes.id", index=True)
    job: str = Field(max_length=80)
    period: str = Field(max_length=80)
    finished_at: datetime = Field(default_factory=clock.now)
    counts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class WorkerLease(SQLModel, table=True):
    """Who leads (SQLite's stand-in for PostgreSQL's advisory lock) and the last heartbeat."""

    __tablename__ = "worker_lease"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=120)
    acquired_at: datetime = Field(default_factory=clock.now)
    heartbeat_at: datetime = Field(default_factory=clock.now)
