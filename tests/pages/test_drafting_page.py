"""The Draft with AI page: ask the (fake) local model, edit the draft, save it as homework or a
quiz; failures are shown plainly; without OLLAMA_BASE_URL the page says how to turn it on."""

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from app.academics import service as academics
from app.core import clock
from app.core.config import reset_settings_cache
from app.core.roles import Role
from app.coursework.models import Assessment, Homework
from app.drafting.models import AiDraft
from tests import factories as f
from tests.fakes.ollama import fake_ollama
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown, texts

PAGE = "pages/teacher/drafts.py"
DRAFT = json.dumps(
    {
        "title": "Fractions practice",
        "instructions": "Show your working.",
        "questions": ["What is 1/2 + 1/4?", "Simplify 6/8."],
    }
)


@pytest.fixture
def school(db):
    inst = f.institute(db, timezone="UTC")
    admin_user = f.user(db, inst, Role.ADMIN, email="head@school.example")
    teacher_user = f.user(db, inst, Role.TEACHER, email="tara@school.example", name="Tara")
    admin = f.actor_for(admin_user)
    with db.scope(admin) as s:
        subject = academics.create_subject(s, actor=admin, name="Mathematics")
        topic = academics.add_topic(s, actor=admin, subject_id=subject.id, name="Fractions")
        batch = academics.create_batch(
            s, actor=admin, name="Math A", subject_id=subject.id, teacher_user_id=teacher_user.id
        )
        for n in (1, 2):
            student = academics.create_student(s, actor=admin, enrollment_no=f"M-{n}", name=f"S{n}")
            academics.join_batch(s, actor=admin, batch_id=batch.id, student_id=student.id)
    return {"teacher": teacher_user, "batch": batch.id, "topic": topic.id}


@pytest.fixture
def server(monkeypatch):
    with fake_ollama() as fake:
        monkeypatch.setenv("OLLAMA_BASE_URL", fake.url)
        monkeypatch.setenv("OLLAMA_TIMEOUT_SECONDS", "0.5")
        reset_settings_cache()
        yield fake
    reset_settings_cache()


def rows(db, model):
    with db.scope(system=True) as s:
        return s.exec(select(model)).all()


def test_teacher_drafts_edits_and_saves_homework(db, school, server):
    server.answer = "```json\n" + DRAFT + "\n```"
    at = app_as(school["teacher"].email).run()
    open_page(at, PAGE)
    assert not errors(at), errors(at)
    assert at.title[0].value == "Draft with AI"
    by_label(at.number_input, "Questions").set_value(2)
    by_label(at.button, "Draft with AI").click().run()
    assert not errors(at), errors(at)
    assert len(server.requests) == 1
    assert by_label(at.text_input, "Title").value == "Fractions practice"
    body = by_label(at.text_area, "Instructions and questions")
    assert body.value == "Show your working.\n\n1. What is 1/2 + 1/4?\n2. Simplify 6/8."
    assert rows(db, Homework) == []  # a draft is not homework

    by_label(at.text_input, "Title").set_value("Fractions, set 1")
    body.set_value("Show your working.\n\n1. What is 1/2 + 1/4?")
    by_label(at.button, "Save as homework").click().run()
    assert not errors(at), errors(at)
    assert "Set Fractions, set 1 for Math A" in texts(at)
    [homework] = rows(db, Homework)
    assert homework.title == "Fractions, set 1" and homework.topic_id == school["topic"]
    assert homework.instructions == "Show your working.\n\n1. What is 1/2 + 1/4?"
    assert homework.due_on == clock.today_in("UTC") + timedelta(days=7)
    [log] = rows(db, AiDraft)
    assert log.homework_id == homework.id
    assert list(frame(at, "Outcome")["Outcome"]) == ["saved as homework"]
    assert not [b for b in at.button if b.label == "Save as homework"]


def test_quiz_draft_saved_as_a_quiz_with_the_answers_kept(db, school, server):
    server.answer = json.dumps(
        {"title": "Quick quiz", "questions": [{"question": "Half of 8?", "answer": "4"}]}
    )
    at = app_as(school["teacher"].email).run()
    open_page(at, PAGE)
    at.radio[0].set_value("quiz")
    by_label(at.number_input, "Questions").set_value(1)
    by_label(at.button, "Draft with AI").click().run()
    assert not errors(at), errors(at)
    answers = by_label(at.text_area, "Answers (for you; students do not see them)")
    assert answers.value == "1. 4"
    by_label(at.button, "Save as quiz").click().run()
    assert not errors(at), errors(at)
    [quiz] = rows(db, Assessment)
    assert (quiz.kind, quiz.title, quiz.topic_id, quiz.max_marks) == (
        "quiz",
        "Quick quiz",
        school["topic"],
        1,
    )
    [log] = rows(db, AiDraft)
    assert log.assessment_id == quiz.id
    assert log.saved_text == "Questions\n1. Half of 8?\n\nAnswers\n1. 4"
    assert [t.value for t in at.text] == [log.saved_text]  # the quiz paper, kept for the teacher


def test_timeout_and_bad_answers_are_shown_plainly_and_nothing_is_set(db, school, server):
    server.delay = 1.5
    at = app_as(school["teacher"].email).run()
    open_page(at, PAGE)
    by_label(at.button, "Draft with AI").click().run()
    assert any("did not answer within 0.5 seconds" in e for e in errors(at)), errors(at)
    server.delay, server.answer = 0.0, "I cannot help with that."
    by_label(at.button, "Draft with AI").click().run()
    assert any("not in the expected format" in e for e in errors(at)), errors(at)
    assert not [b for b in at.button if b.label == "Save as homework"]
    assert rows(db, Homework) == [] and rows(db, Assessment) == []
    assert [r.ok for r in rows(db, AiDraft)] == [False, False]


def test_without_a_model_the_page_says_how_to_turn_it_on(db, school, monkeypatch):
    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    reset_settings_cache()
    at = app_as(school["teacher"].email).run()
    open_page(at, PAGE)
    assert not errors(at), errors(at)
    assert any(
        "AI drafting is off" in shown(i.value) and "OLLAMA_BASE_URL" in shown(i.value)
        for i in at.info
    )
    assert not [b for b in at.button if b.label == "Draft with AI"]
