"""The student risk engine: advisory early warning, explainable, one set-based pass per institute.

How a student's score is made (all sub-scores 0–100, over the institute's window, default the
last 30 days up to and including today, in the institute's timezone):

- **Attendance** = present-or-late marks ÷ taken sessions (excused marks are left out).
- **Homework** = homework handed in on time ÷ homework whose due date fell in the window and
  has passed (due before today).
- **Fees** = 100 when nothing is overdue; otherwise 100 − days penalty − amount penalty, where
  the days penalty is the days since the oldest unpaid part fell due, at most 60, and the amount
  penalty is 40 × (overdue ÷ everything the student owes now). So 60+ days late on everything
  owed scores 0; a few days late on a small part of a larger balance scores in the 90s.
  Fees are not windowed: an overdue bill counts until it is paid.
- **Tests** = the mean percentage of assessment results in the window (absent sittings and
  results without marks are left out).

Score = Σ weight × sub-score ÷ Σ weight, over the factors that have data (default weights
40/30/20/10). A factor without data is left out and the others are rescaled, so a student is
never penalised for missing data; the reasons say so. The score is rounded to 2 decimals and the
level read from the rounded score: LOW ≥ 75, MEDIUM ≥ 50, HIGH below (per-institute settings).

Critical flags raise the level to at least MEDIUM and are named first in the reasons:
attendance below 80%, any fee overdue more than 60 days, and failing (below the pass mark,
default 40%) the last two tests the student sat (at any time, not only in the window).

The engine reads attendance, coursework and fees, and writes only `student_risk_profiles`,
`student_risk_events` (each level change) and, for each transition into HIGH, one `student_risk`
pending action.

How it stays fast: one SELECT per pass joins the active students to one grouped subquery per
factor (attendance goes from the window's sessions to their marks through the (institute,
session) index). The daily job reads every institute in one pass, then writes each institute in
its own transaction. Each profile carries a fingerprint of everything it shows; only profiles
whose fingerprint changed are written (one upsert statement), so a quiet day writes almost
nothing. Reasons are formatted only for the profiles being written.

This module gathers the subdomain modules' names (`app.risk.facts`, `app.risk.scoring`,
`app.risk.store`) so callers keep one import."""

from __future__ import annotations

from app.risk.facts import (
    Inputs,
    among,
    gather_all,
    gather_internal,
    gather_many,
    settings_for_internal,
)
from app.risk.scoring import (
    ENGINE_VERSION,
    FACTORS,
    FEE_AMOUNT_WEIGHT,
    FEE_DAYS_CAP,
    Assessed,
    assess,
    explain,
    fee_subscore,
    fingerprint,
    level_of,
    pct,
    scoring_context,
    weights_of,
)
from app.risk.store import (
    PG_UPSERT,
    PROFILE_COLUMNS,
    RecomputeResult,
    Scored,
    apply_internal,
    pending,
    recompute_institute_internal,
    score_students,
    unchanged_levels,
    upsert_profiles,
)

__all__ = [
    "Assessed",
    "ENGINE_VERSION",
    "FACTORS",
    "FEE_AMOUNT_WEIGHT",
    "FEE_DAYS_CAP",
    "Inputs",
    "PROFILE_COLUMNS",
    "RecomputeResult",
    "PG_UPSERT",
    "among",
    "pct",
    "upsert_profiles",
    "weights_of",
    "apply_internal",
    "Scored",
    "score_students",
    "assess",
    "explain",
    "fee_subscore",
    "fingerprint",
    "gather_all",
    "gather_internal",
    "gather_many",
    "level_of",
    "pending",
    "recompute_institute_internal",
    "scoring_context",
    "settings_for_internal",
    "unchanged_levels",
]
