"""The demo CRM: a year of inquiries per institute, converted ones linked to students, lost ones
with reasons, scored by the real pass, overdue calls in the counselors' inboxes."""

from sqlmodel import func, select

from app.academics.models import Student
from app.crm.models import FollowUp, Inquiry
from app.demo.crm import INQUIRIES
from app.demo.seed import seed_demo
from app.inbox.models import PendingAction


def test_small_demo_has_a_year_of_inquiries(db):
    result = seed_demo(size="small", engine=db.engine)
    first = result.institute_ids[0]
    assert result.history[first]["inquiries"] == INQUIRIES["small"][0]
    with db.scope(system=True) as s:
        status = dict(
            s.exec(
                select(Inquiry.status, func.count())
                .where(Inquiry.institute_id == first)
                .group_by(Inquiry.status)
            ).all()
        )
        assert set(status) == {"new", "contacted", "follow_up_scheduled", "enrolled", "lost"}
        assert sum(status.values()) == 120
        total = s.exec(select(func.count()).select_from(Inquiry)).one()
        assert total == sum(INQUIRIES["small"][0 if i == 0 else 1] for i in range(2))
        enrolled = s.exec(
            select(Inquiry.student_id, Student.institute_id)
            .join(Student, Student.id == Inquiry.student_id)
            .where(Inquiry.status == "enrolled", Inquiry.institute_id == first)
        ).all()
        assert len(enrolled) == status["enrolled"]
        assert {inst for _, inst in enrolled} == {first}  # students of the same institute
        assert len({sid for sid, _ in enrolled}) == len(enrolled)  # one inquiry per student
        lost = s.exec(select(Inquiry.lost_reason).where(Inquiry.status == "lost")).all()
        assert lost and all(lost)
        open_scores = s.exec(
            select(Inquiry.lead_score, Inquiry.score_reasons).where(Inquiry.status == "new")
        ).all()
        assert all(score > 0 and len(reasons) == 5 for score, reasons in open_scores)
        assert s.exec(select(func.count()).select_from(FollowUp)).one() > 120
        overdue = s.exec(
            select(func.count())
            .select_from(PendingAction)
            .where(PendingAction.type == "follow_up_due")
        ).one()
        assert overdue == sum(h["follow_ups_overdue"] for h in result.history.values())
