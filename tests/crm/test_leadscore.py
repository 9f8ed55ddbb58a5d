"""Lead scores against a table computed by hand, and the daily recompute.

Today is 20 Nov 2026 (Asia/Kolkata). Physics is taught in an open batch; Chemistry is not.
Points: source (referral 25, walk-in 20, website 15, campaign 10, social media 8); engagement 10
per answered follow-up, at most 30; recency from the last completed follow-up (or the inquiry
date) ≤7 days 20, ≤14 15, ≤30 10, ≤60 5, else 0; interest 15 if a subject asked about is taught
in an active batch; priority high 10, medium 5, low 0.

| inquiry | source        | priority | wants             | follow-ups (answered)            | last touch      | score                      |
|---------|---------------|----------|-------------------|----------------------------------|-----------------|----------------------------|
| Asha    | referral 25   | high 10  | Physics 15        | 3 answered + 1 no answer → 30     | 2 days → 20     | 25+30+20+15+10 = 100       |
| Bala    | walk-in 20    | medium 5 | Chemistry 0       | 1 answered + 1 no answer → 10     | 8 days → 15     | 20+10+15+0+5 = 50          |
| Chen    | website 15    | low 0    | nothing 0         | none → 0                         | inquired 30 d → 10 | 15+0+10+0+0 = 25        |
| Dev     | campaign 10   | medium 5 | Physics+Chem 15   | 4 answered → capped 30           | 31 days → 5     | 10+30+5+15+5 = 65          |
| Esi     | social 8      | high 10  | Physics 15        | none → 0                         | inquired 61 d → 0 | 8+0+0+15+10 = 33         |
| Femi    | website 15    | medium 5 | Physics 15        | 2 no answer → 0                  | 7 days → 20     | 15+0+20+15+5 = 55          |
| Gita    | walk-in       | high     | Physics           | lost (fees too high)             |                 | 0                          |
| Hari    | walk-in 20    | medium 5 | nothing 0         | none                             | today → 20      | 20+0+20+0+5 = 45           |
"""

from datetime import timedelta

from sqlmodel import select

from app.academics import service as academics
from app.core import clock
from app.crm import jobs, leadscore
from app.crm import service as crm
from app.crm.models import Inquiry
from tests.crm.world import NOW, TODAY, build

EXPECTED = {
    "Asha": 100,
    "Bala": 50,
    "Chen": 25,
    "Dev": 65,
    "Esi": 33,
    "Femi": 55,
    "Gita": 0,
    "Hari": 45,
}


def _world(db):
    w = build(db)
    c = w.counselor
    plan = {
        # name: (days ago created, source, priority, subjects, [(days ago, outcome)])
        "Asha": (
            20,
            "referral",
            "high",
            [w.physics],
            [(9, "interested"), (6, "no_answer"), (4, "considering"), (2, "callback_requested")],
        ),
        "Bala": (
            15,
            "walk_in",
            "medium",
            [w.chemistry],
            [(12, "not_interested"), (8, "no_answer")],
        ),
        "Chen": (30, "website", "low", [], []),
        "Dev": (
            50,
            "campaign",
            "medium",
            [w.physics, w.chemistry],
            [(40, "interested"), (38, "interested"), (35, "considering"), (31, "interested")],
        ),
        "Esi": (61, "social_media", "high", [w.physics], []),
        "Femi": (10, "website", "medium", [w.physics], [(9, "no_answer"), (7, "wrong_number")]),
        "Gita": (5, "walk_in", "high", [w.physics], []),
        "Hari": (0, "walk_in", "medium", [], []),
    }
    ids = {}
    for n, (name, (ago, source, priority, subjects, contacts)) in enumerate(plan.items()):
        with clock.frozen(NOW - timedelta(days=ago)), db.scope(c) as s:
            ids[name] = crm.create_inquiry(
                s,
                actor=c,
                student_name=name,
                phone=f"98000000{n:02d}",
                source=source,
                priority=priority,
                interested_subjects=subjects,
                referrer_student_id=w.referrer if source == "referral" else None,
            ).id
        with clock.frozen(NOW), db.scope(c) as s:
            for days, outcome in contacts:
                crm.log_follow_up(
                    s,
                    actor=c,
                    inquiry_id=ids[name],
                    follow_up_type="call",
                    outcome=outcome,
                    on=TODAY - timedelta(days=days),
                )
    with clock.frozen(NOW), db.scope(c) as s:
        crm.change_status(
            s, actor=c, inquiry_id=ids["Gita"], status="lost", lost_reason="Fees too high"
        )
    # Scores follow each change; time passing is picked up by the daily job (run this morning).
    with clock.frozen(NOW):
        jobs.crm_lead_scores(engine=db.engine)
    return w, ids


def _scores(db, w) -> dict:
    with db.scope(w.admin) as s:
        return {
            i.student_name: (i.lead_score, i.score_reasons)
            for i in s.exec(select(Inquiry).where(Inquiry.institute_id == w.institute.id))
        }


def test_scores_match_the_table_and_explain_themselves(db):
    w, ids = _world(db)
    scores = _scores(db, w)
    assert {k: v[0] for k, v in scores.items()} == EXPECTED
    assert scores["Asha"][1] == [
        "Source referral: +25",
        "3 follow-ups answered: +30",
        "Last contact within 7 days: +20",
        "Wants Physics, taught in an active batch: +15",
        "High priority: +10",
    ]
    assert "No active batch for Chemistry: +0" in scores["Bala"][1]
    assert "Last contact 8–14 days ago: +15" in scores["Bala"][1]
    assert "Inquired, not contacted since, 15–30 days ago: +10" in scores["Chen"][1]
    assert "Inquired, not contacted since, over 60 days ago: +0" in scores["Esi"][1]
    assert scores["Gita"][1] == ["Lost: Fees too high."]
    # A full recompute agrees with the scores kept up to date on each change.
    with clock.frozen(NOW), db.scope(institute_id=w.institute.id) as s:
        assert leadscore.recompute_institute_internal(s, institute_id=w.institute.id) == 0
        assert (
            leadscore.recompute_institute_internal(s, institute_id=w.institute.id, force=True) == 8
        )


def test_the_daily_job_picks_up_time_passing_and_new_batches(db):
    w, ids = _world(db)
    with db.scope(w.admin) as s:
        academics.create_batch(s, actor=w.admin, name="Chemistry A", subject_id=w.chemistry)
    # Nine days on: Asha's last contact is 11 days old (20 → 15); Bala now has a batch (+15)
    # but her last contact is 17 days old (15 → 10); Hari inquired 9 days ago (20 → 15).
    with clock.frozen(NOW + timedelta(days=9)):
        result = jobs.crm_lead_scores(engine=db.engine)
    assert result["changed"] >= 3
    scores = {k: v[0] for k, v in _scores(db, w).items()}
    assert (scores["Asha"], scores["Bala"], scores["Hari"]) == (95, 60, 40)
    assert scores["Gita"] == 0
