"""The demo tells a term's story (issue 21): what someone clicking through a fresh demo notices —
batch and guardian names, syllabus progress against the calendar, badges earned over the term,
students at every risk level, and a class the demo teacher can take right now."""

import re

from sqlmodel import select

from app.academics.models import Batch, Guardian, Student
from app.demo.seed import seed_demo


def test_batches_have_names_an_institute_would_give_them(db):
    result = seed_demo(size="small", engine=db.engine)
    with db.scope(system=True) as s:
        names = s.exec(select(Batch.institute_id, Batch.name, Batch.level)).all()
    assert names
    for institute_id in result.institute_ids:
        own = [name for i, name, _ in names if i == institute_id]
        assert len(own) == len(set(own)), own
    for _, name, level in names:
        assert not re.fullmatch(r"\w+ \d{3}", name), name  # not "Math 001"
        # "Class 10 Maths — Morning A": what it prepares for, the subject, when, the section.
        assert re.fullmatch(
            r"(Class \d+|JEE|NEET) [\w ]+ — (Morning|Afternoon|Evening) [A-Z]\d*", name
        )
        assert name.startswith(level)


def test_guardians_have_their_own_names_and_phones(db):
    seed_demo(size="small", engine=db.engine)
    with db.scope(system=True) as s:
        rows = s.exec(
            select(Guardian.name, Guardian.phone, Student.name, Student.phone).join(
                Student, Student.id == Guardian.student_id
            )
        ).all()
    assert len(rows) >= 40
    for guardian, guardian_phone, student, student_phone in rows:
        assert not guardian.startswith("Parent of"), guardian
        assert guardian != student and guardian.split()[-1] == student.split()[-1]
        assert guardian_phone and guardian_phone != student_phone
    assert len({phone for _, phone, _, _ in rows}) == len(rows)  # one family, one number
    assert len({name.split()[0] for name, *_ in rows}) > 10
