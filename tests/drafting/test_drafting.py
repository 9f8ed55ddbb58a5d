"""AI drafting against the fake Ollama server: a draft is only a log row until the teacher saves
it as homework or a quiz; failures are explained and create nothing but the log row."""

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from app.core import clock
from app.core.audit import AuditLog
from app.core.config import reset_settings_cache
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.roles import Role
from app.coursework.models import Assessment, AssessmentResult, Homework, HomeworkSubmission
from app.drafting import service as drafting
from app.drafting.models import AiDraft
from tests import factories as f
from tests.drafting.conftest import NOW, TODAY
from tests.factories import count

HOMEWORK_ANSWER = (
    "Sure! Here is your homework:\n```json\n"
    + json.dumps(
        {
            "title": "Fractions practice",
            "instructions": "Show your working.",
            "questions": ["1. What is 1/2 + 1/4?", "Simplify 6/8.", "Compare 2/3 and 3/5."],
        }
    )
    + "\n```\nHope this helps!"
)
QUIZ_ANSWER = json.dumps(
    {
        "title": "Fractions quiz",
        "questions": [
            {"question": "What is 1/2 of 10?", "answer": "5"},
            {"question": "Simplify 4/8.", "answer": "1/2"},
        ],
    }
)


def ask(db, actor, batch, topic, kind="homework", n=3, **kw):
    with clock.frozen(NOW), db.scope(actor) as s:
        return drafting.request_draft(
            s, actor=actor, batch_id=batch, topic_id=topic, kind=kind, questions=n, **kw
        )


def test_homework_draft_becomes_homework_only_when_saved_with_the_teachers_edits(
    db, world, ollama_server
):
    teacher, fractions = world["teacher"], world["topics"][0]
    ollama_server.answer = HOMEWORK_ANSWER
    draft = ask(db, teacher, world["batch"], fractions, notes="use pizzas")
    assert draft.ok, draft.error
    assert draft.title == "Fractions practice" and draft.instructions == "Show your working."
    assert draft.questions == ("What is 1/2 + 1/4?", "Simplify 6/8.", "Compare 2/3 and 3/5.")
    [request] = ollama_server.requests
    system, user = request["body"]["messages"]
    assert request["body"]["model"] == "llama3.2" and request["body"]["stream"] is False
    assert "ONE JSON object" in system["content"] and '"questions"' in system["content"]
    assert "Topic: Fractions" in user["content"] and "Subject: Mathematics" in user["content"]
    assert "Number of questions: 3" in user["content"] and "use pizzas" in user["content"]
    # Asking wrote the log row and nothing else.
    assert count(db, Homework) == 0 and count(db, HomeworkSubmission) == 0
    with db.scope(system=True) as s:
        [row] = s.exec(select(AiDraft)).all()
    assert (row.kind, row.ok, row.error, row.model, row.questions) == (
        "homework",
        True,
        None,
        "llama3.2",
        3,
    )
    assert row.raw_output == HOMEWORK_ANSWER and "Topic: Fractions" in row.prompt
    assert row.institute_id == world["inst"].id and row.user_id == teacher.user_id
    assert row.duration_ms >= 0 and row.homework_id is None and row.saved_at is None

    edited = "Show your working.\n\n1. What is 1/2 + 1/4?\n2. Simplify 6/8 fully."
    with clock.frozen(NOW), db.scope(teacher) as s:
        homework = drafting.save_as_homework(
            s,
            actor=teacher,
            draft_id=draft.id,
            title="  Fractions, set 1 ",
            instructions=edited,
            due_on=TODAY + timedelta(days=3),
            max_marks=10,
        )
    with db.scope(system=True) as s:
        [saved] = s.exec(select(Homework)).all()
        row = s.get(AiDraft, draft.id)
        audit = s.exec(select(AuditLog).where(AuditLog.action == "ai_draft.save")).all()
    assert saved.id == homework.id and saved.title == "Fractions, set 1"
    assert saved.instructions == edited and saved.topic_id == fractions
    assert (saved.batch_id, saved.max_marks, saved.due_on) == (
        world["batch"],
        10,
        TODAY + timedelta(days=3),
    )
    assert count(db, HomeworkSubmission) == 4
    assert row.homework_id == homework.id and row.saved_text == edited and row.saved_at
    assert [(a.target_type, a.target_id) for a in audit] == [("ai_draft", str(row.id))]
    assert audit[0].detail["homework_id"] == homework.id

    # Saving twice (a second click, another tab) never sets it twice.
    with pytest.raises(Conflict, match="already been saved"), db.scope(teacher) as s:
        drafting.save_as_homework(
            s, actor=teacher, draft_id=draft.id, title="Again", instructions="x", due_on=TODAY
        )
    assert count(db, Homework) == 1


def test_quiz_draft_becomes_a_quiz_on_the_topic(db, world, ollama_server):
    teacher, decimals = world["teacher"], world["topics"][1]
    ollama_server.answer = QUIZ_ANSWER
    draft = ask(db, teacher, world["batch"], decimals, kind="quiz", n=2)
    assert draft.ok and draft.answers == ("5", "1/2")
    assert draft.suggested_max_marks == 2
    assert '"answer"' in ollama_server.requests[0]["body"]["messages"][0]["content"]
    assert count(db, Assessment) == 0
    with (
        pytest.raises(ValidationError, match="quiz draft; save it as a quiz"),
        db.scope(teacher) as s,
    ):
        drafting.save_as_homework(
            s, actor=teacher, draft_id=draft.id, title="x", instructions="x", due_on=TODAY
        )
    with clock.frozen(NOW), db.scope(teacher) as s:
        quiz = drafting.save_as_quiz(
            s,
            actor=teacher,
            draft_id=draft.id,
            title="Decimals check",
            questions="1. What is 1/2 of 10?\n2. Simplify 4/8.",
            answers="1. 5\n2. one half",
            max_marks=4,
            held_on=TODAY + timedelta(days=1),
        )
    with db.scope(system=True) as s:
        [saved] = s.exec(select(Assessment)).all()
        row = s.get(AiDraft, draft.id)
    assert (saved.id, saved.kind, saved.topic_id, saved.title, saved.max_marks) == (
        quiz.id,
        "quiz",
        decimals,
        "Decimals check",
        4,
    )
    assert count(db, AssessmentResult) == 4 and count(db, Homework) == 0
    assert row.assessment_id == quiz.id and row.homework_id is None
    assert "2. one half" in row.saved_text and "Simplify 4/8." in row.saved_text


def test_timeout_and_model_errors_are_explained_and_write_only_the_log_row(
    db, world, ollama_server, monkeypatch
):
    teacher, topic = world["teacher"], world["topics"][0]
    monkeypatch.setenv("OLLAMA_TIMEOUT_SECONDS", "0.2")
    reset_settings_cache()
    ollama_server.delay, ollama_server.answer = 1.0, HOMEWORK_ANSWER
    slow = ask(db, teacher, world["batch"], topic)
    assert not slow.ok
    assert "did not answer within 0.2 seconds" in slow.error
    assert "Nothing was created" in slow.error

    ollama_server.delay, ollama_server.status = 0.0, 500
    failing = ask(db, teacher, world["batch"], topic, kind="quiz")
    assert "refused the request (HTTP 500" in failing.error

    with db.scope(system=True) as s:
        rows = s.exec(select(AiDraft).order_by(AiDraft.id)).all()
    assert [(r.ok, r.raw_output, r.content) for r in rows] == [(False, None, None)] * 2
    assert "did not answer" in rows[0].error and "HTTP 500" in rows[1].error
    assert count(db, Homework) == 0 and count(db, Assessment) == 0
    with pytest.raises(ValidationError, match="could not be used"), db.scope(teacher) as s:
        drafting.save_as_homework(
            s, actor=teacher, draft_id=slow.id, title="x", instructions="x", due_on=TODAY
        )
    assert count(db, Homework) == 0


def test_unusable_answers_are_refused_plainly(db, world, ollama_server):
    teacher, topic = world["teacher"], world["topics"][0]
    ollama_server.answer = "Here are some questions:\n1. What is a fraction?\n2. What is 1/2?"
    bad = ask(db, teacher, world["batch"], topic)
    assert "not in the expected format" in bad.error and "Nothing was created" in bad.error

    ollama_server.answer = '{"title": "Quiz", "questions": [{"question": "What is 1/2?"}]}'
    no_answers = ask(db, teacher, world["batch"], topic, kind="quiz")
    assert "left out the answer" in no_answers.error

    with db.scope(system=True) as s:
        rows = s.exec(select(AiDraft).order_by(AiDraft.id)).all()
    assert [r.ok for r in rows] == [False, False]
    assert rows[0].raw_output.startswith("Here are some questions")  # kept for the log
    assert count(db, Homework) == 0 and count(db, Assessment) == 0


def test_only_your_own_batches_topics_and_drafts(db, world, ollama_server):
    teacher, other, admin = world["teacher"], world["other"], world["admin"]
    ollama_server.answer = HOMEWORK_ANSWER
    with pytest.raises(PermissionDenied, match="not one of your batches"):
        ask(db, teacher, world["other_batch"], world["topics"][0])
    assert ollama_server.requests == [] and count(db, AiDraft) == 0

    student = f.actor_for(f.user(db, world["inst"], Role.STUDENT))
    with pytest.raises(PermissionDenied):
        ask(db, student, world["batch"], world["topics"][0])

    with db.scope(admin) as s:
        from app.academics import service as academics

        science = academics.create_subject(s, actor=admin, name="Science")
        cells = academics.add_topic(s, actor=admin, subject_id=science.id, name="Cells").id
    with pytest.raises(ValidationError, match="topic from the batch's syllabus"):
        ask(db, teacher, world["batch"], cells)

    mine = ask(db, teacher, world["batch"], world["topics"][0])
    by_admin = ask(db, admin, world["other_batch"], world["topics"][0])  # admins: any batch
    assert mine.ok and by_admin.ok
    with pytest.raises(PermissionDenied, match="someone else's"), db.scope(other) as s:
        drafting.save_as_homework(
            s, actor=other, draft_id=mine.id, title="x", instructions="x", due_on=TODAY
        )
    with db.scope(teacher) as s:
        assert [line.id for line in drafting.list_drafts(s, actor=teacher)] == [mine.id]
    with db.scope(admin) as s:
        log = drafting.list_drafts(s, actor=admin)
    assert [line.id for line in log] == [by_admin.id, mine.id]
    assert {line.outcome for line in log} == {"not saved"}

    # Another institute sees none of it: the service scope, and on PostgreSQL row-level security.
    elsewhere = f.institute(db)
    outsider = f.actor_for(f.user(db, elsewhere, Role.ADMIN))
    with db.scope(outsider) as s:
        assert drafting.list_drafts(s, actor=outsider) == []
        if db.kind == "postgres":  # even an unscoped query sees no other institute's rows
            assert s.exec(select(AiDraft)).all() == []
        with pytest.raises(NotFound, match="does not exist"):
            drafting.get_draft(s, actor=outsider, draft_id=mine.id)


def test_off_without_a_base_url_says_how_to_turn_it_on(db, world, monkeypatch):
    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    reset_settings_cache()
    assert drafting.enabled() is False
    with pytest.raises(ValidationError, match="AI drafting is off") as refused:
        ask(db, world["teacher"], world["batch"], world["topics"][0])
    assert "OLLAMA_BASE_URL" in refused.value.message
    assert count(db, AiDraft) == 0


def test_question_count_is_bounded(db, world, ollama_server):
    for n in (0, 21):
        with pytest.raises(ValidationError, match="between 1 and 20"):
            ask(db, world["teacher"], world["batch"], world["topics"][0], n=n)
    with pytest.raises(ValidationError, match="homework or a quiz"):
        ask(db, world["teacher"], world["batch"], world["topics"][0], kind="essay")
    assert ollama_server.requests == []
