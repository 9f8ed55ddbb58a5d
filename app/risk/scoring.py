"""Scoring one student from their facts: the factor subscores, the weighted score and level, the plain-language reasons, and the fingerprint that says whether anything changed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from app.core.money import format_money
from app.fees import reports as fee_reports
from app.risk.facts import Inputs
from app.risk.models import RiskSettings

FACTORS = ("attendance", "homework", "fees", "tests")


FEE_DAYS_CAP = 60


FEE_AMOUNT_WEIGHT = 40


@dataclass
class Assessed:
    """One student's result. The plain-language reasons are built on first use from the facts
    kept here, so a recompute that changes nothing never formats a sentence."""

    student_id: int
    name: str
    score: float | None
    level: str
    subscores: dict[str, float | None]
    flags: list[str]
    facts: tuple
    settings: RiskSettings = field(repr=False)
    window: int = 30
    currency: str = "INR"
    digest: str = ""  # fingerprint(facts, context)
    weights: dict[str, int] = field(default_factory=dict, repr=False)  # weights_of(settings)

    @cached_property
    def reasons(self) -> list[str]:
        return explain(self)


def fingerprint(facts: tuple, context: int) -> str:
    """What a stored profile is computed from: the student's facts and the institute's context
    (settings, currency, engine version). Equal fingerprints ⇔ the same score, level, flags and
    reasons, so the daily pass skips those students before scoring them. Numbers only: hash()
    of ints and floats is the same in every process (of None and of strings it is not), so
    absent values are written as -1."""
    att, hw, fee, test, last = facts
    seen = (
        att or (-1, -1),
        hw or (-1, -1),
        (fee.open_minor, fee.overdue_minor, fee.days_overdue) if fee else (-1, -1, -1),
        test or (-1, -1),
        (*last, -1, -1),
        context,
    )
    return f"{hash(seen) & 0xFFFFFFFFFFFFFFFF:016x}"


# Bump when the formulas or the wording of the reasons change: every profile is rewritten.
ENGINE_VERSION = 2


def scoring_context(settings: RiskSettings, currency: str) -> int:
    """Everything besides a student's facts that a profile depends on (window, weights,
    thresholds, currency, engine version), as a stable number computed once per institute."""
    text = repr(
        (
            ENGINE_VERSION,
            settings.window_days,
            settings.low_min,
            settings.medium_min,
            settings.attendance_flag_percent,
            settings.fee_overdue_flag_days,
            settings.pass_percent,
            tuple(weights_of(settings).values()),
            currency,
        )
    )
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@lru_cache(maxsize=8192)  # the same few hundred ratios come back for every student
def pct(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def fee_subscore(standing: fee_reports.FeeStanding) -> float:
    if standing.overdue_minor <= 0:
        return 100.0
    share = standing.overdue_minor / standing.open_minor if standing.open_minor else 1.0
    return max(
        0.0,
        100.0 - min(standing.days_overdue, FEE_DAYS_CAP) - FEE_AMOUNT_WEIGHT * min(share, 1.0),
    )


def level_of(score: float | None, settings: RiskSettings) -> str:
    if score is None or score >= settings.low_min:
        return "LOW"
    return "MEDIUM" if score >= settings.medium_min else "HIGH"


def weights_of(settings: RiskSettings) -> dict[str, int]:
    return {
        "attendance": settings.weight_attendance,
        "homework": settings.weight_homework,
        "fees": settings.weight_fees,
        "tests": settings.weight_tests,
    }


def assess(inputs: Inputs, settings: RiskSettings) -> list[Assessed]:
    """Score every active student from the gathered inputs (pure: no database)."""
    weights = weights_of(settings)
    attendance_flag = settings.attendance_flag_percent
    fee_flag_days = settings.fee_overdue_flag_days
    pass_percent = settings.pass_percent
    low_min, medium_min = settings.low_min, settings.medium_min
    window = settings.window_days
    context = scoring_context(settings, inputs.currency)
    out = []
    facts = inputs.facts
    for sid, name in inputs.students.items():
        att, hw, fee, test, last = facts[sid]
        sub: dict[str, float | None] = {
            "attendance": 100.0 * att[0] / att[1] if att else None,
            "homework": 100.0 * hw[0] / hw[1] if hw else None,
            "fees": fee_subscore(fee) if fee else None,
            "tests": test[0] if test else None,
        }
        flags = []
        if att and sub["attendance"] < attendance_flag:
            flags.append("attendance")
        if fee and fee.overdue_minor and fee.days_overdue > fee_flag_days:
            flags.append("fees")
        if len(last) == 2 and all(p < pass_percent for p in last):
            flags.append("tests")
        total_weight = 0
        weighted = 0.0
        for key, value in sub.items():
            if value is not None and weights[key] > 0:
                total_weight += weights[key]
                weighted += weights[key] * value
        score = round(weighted / total_weight, 2) if total_weight else None
        if score is None or score >= low_min:
            level = "LOW"
        else:
            level = "MEDIUM" if score >= medium_min else "HIGH"
        if flags and level == "LOW":
            level = "MEDIUM"
        out.append(
            Assessed(
                student_id=sid,
                name=name,
                score=score,
                level=level,
                subscores={k: (round(v, 2) if v is not None else None) for k, v in sub.items()},
                flags=flags,
                facts=(att, hw, fee, test, last),
                settings=settings,
                window=window,
                currency=inputs.currency,
                digest=fingerprint((att, hw, fee, test, last), context),
                weights=weights,
            )
        )
    return out


def explain(result: Assessed) -> list[str]:
    """The plain-language reasons of one result: critical flags first, then each factor (what
    counted, what did not and why), then how the score was made."""
    settings, window = result.settings, result.window
    att, hw, fee, test, last = result.facts
    sub = result.subscores
    reasons, critical = [], []
    if att:
        present, taken = att
        reasons.append(
            f"Attendance: present or late at {present} of {taken} sessions "
            f"({pct(100.0 * present / taken)})."
        )
        if "attendance" in result.flags:
            critical.append(
                f"Critical: attendance {pct(100.0 * present / taken)} is below "
                f"{pct(settings.attendance_flag_percent)}."
            )
    else:
        reasons.append(f"No classes taken in the last {window} days: attendance not counted.")
    if hw:
        on_time, due = hw
        reasons.append(
            f"Homework: {on_time} of {due} handed in on time ({pct(100.0 * on_time / due)})."
        )
    else:
        reasons.append(f"No homework due in the last {window} days: homework not counted.")
    if fee:
        if fee.overdue_minor:
            owed = format_money(fee.overdue_minor, result.currency)
            reasons.append(
                f"Fees: {owed} overdue for {fee.days_overdue} days "
                f"(fees score {pct(fee_subscore(fee))})."
            )
            if "fees" in result.flags:
                critical.append(
                    f"Critical: fees of {owed} overdue for {fee.days_overdue} days "
                    f"(more than {settings.fee_overdue_flag_days})."
                )
        else:
            reasons.append("Fees: nothing overdue.")
    else:
        reasons.append("No fees billed: fees not counted.")
    if test:
        mean, count = test
        reasons.append(f"Tests: average {pct(mean)} over {count} in the last {window} days.")
    else:
        reasons.append(f"No tests in the last {window} days: tests not counted.")
    if "tests" in result.flags:
        critical.append(
            f"Critical: failed the last two tests ({pct(last[0])}, {pct(last[1])}; "
            f"pass mark {pct(settings.pass_percent)})."
        )
    weights = result.weights or weights_of(settings)
    counted = [k for k, v in sub.items() if v is not None and weights[k] > 0]
    if result.score is None:
        reasons.insert(0, "Not enough data yet to score.")
    elif len(counted) < len(FACTORS):
        reasons.append(
            "Score from " + ", ".join(counted) + " only; their weights are rescaled to add up "
            "to 100%."
        )
    return critical + reasons
