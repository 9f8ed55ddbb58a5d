"""Reading the model's answer: fenced or surrounded JSON, near-miss keys and numbering are
accepted; anything without usable questions is refused with a plain reason."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.drafting.prompts import UnusableDraft, messages, numbered, parse_draft


def test_fenced_json_with_chatter_around_it():
    raw = 'Of course!\n```json\n{"title": "T", "questions": ["Q1. One?", "2) Two?"]}\n```\nBye'
    draft = parse_draft(raw, kind="homework", count=5)
    assert (draft.title, draft.questions, draft.answers) == ("T", ["One?", "Two?"], [])


def test_unfenced_json_after_text_and_near_miss_keys():
    raw = 'Here: {"title": "Quiz", "items": [{"Q": "A?", "Solution": 4}, {"text": "B?", "a": "b"}]}'
    draft = parse_draft(raw, kind="quiz", count=5)
    assert draft.questions == ["A?", "B?"] and draft.answers == ["4", "b"]


def test_extra_questions_are_cut_to_the_count_asked_for():
    raw = json.dumps({"questions": [f"Question {n}?" for n in range(1, 9)]})
    assert parse_draft(raw, kind="homework", count=3).questions == [
        "Question 1?",
        "Question 2?",
        "Question 3?",
    ]


@pytest.mark.parametrize(
    ("kind", "raw", "reason"),
    [
        ("homework", "", "no JSON object"),
        ("homework", "1. What is a fraction?", "no JSON object"),
        ("homework", '{"title": "x", "questions": "not a list"', "no JSON object"),
        ("homework", '{"title": "x"}', "no list of questions"),
        ("homework", '{"questions": ["", "  ", 3.5e400, null]}', "no usable questions"),
        ("quiz", '{"questions": [{"question": "A?"}]}', "left out the answer"),
    ],
)
def test_unusable_answers(kind, raw, reason):
    with pytest.raises(UnusableDraft, match=reason):
        parse_draft(raw, kind=kind, count=5)


def test_prompt_asks_for_the_strict_shape_and_the_count():
    system, user = messages(
        kind="quiz",
        institute="Bright Tutors",
        subject="Physics",
        batch="XI-A",
        level="Class 11",
        topic="Vectors",
        count=4,
    )
    assert "ONE JSON object" in system["content"] and '"answer"' in system["content"]
    assert "exactly 4 questions" in system["content"]
    assert user["content"] == (
        "Subject: Physics\nBatch: XI-A (Class 11)\nTopic: Vectors\nNumber of questions: 4"
    )
    assert numbered(["a", "b"]) == "1. a\n2. b"


question = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(lambda q: q.strip() and not q.strip()[0].isdigit() and q.strip()[0] not in "qQ")


@given(
    questions=st.lists(question, min_size=1, max_size=6),
    before=st.sampled_from(["", "Sure!\n", "Here you go: "]),
    after=st.sampled_from(["", "\nHope this helps.", " Let me know!"]),
    fenced=st.booleans(),
)
def test_any_wrapped_draft_reads_back(questions, before, after, fenced):
    body = json.dumps({"title": "Draft", "questions": questions})
    raw = before + (f"```json\n{body}\n```" if fenced else body) + after
    draft = parse_draft(raw, kind="homework", count=10)
    assert draft.questions == [" ".join(q.split()) for q in questions]
