"""Sentiment labels from VADER on a fixed set of comments, the rating fallback, and themes."""

import pytest

from app.feedback.sentiment import classify, themes

COMMENTS = [
    ("The teacher explained derivatives brilliantly, I finally understand them!", "positive"),
    ("Great session, very helpful examples.", "positive"),
    ("I love how patient she is with our doubts.", "positive"),
    ("Not bad at all.", "positive"),
    ("We covered chapter 4 and did the exercises.", "neutral"),
    ("The session started at 5 pm.", "neutral"),
    ("Too fast, I could not follow anything and felt lost.", "negative"),
    ("Boring and confusing, a waste of time.", "negative"),
    ("The teacher was rude when I asked a question.", "negative"),
    ("Not good at all, the notes were terrible.", "negative"),
]


@pytest.mark.parametrize(("comment", "expected"), COMMENTS)
def test_vader_labels_fixed_comments(comment, expected):
    # The rating (3, neutral) must not matter when there is a comment.
    label, compound = classify(comment, 3)
    assert label.value == expected
    assert compound is not None


def test_the_comment_wins_over_the_rating():
    assert classify("Boring and confusing, a waste of time.", 5)[0].value == "negative"
    assert classify("Great session, very helpful examples.", 1)[0].value == "positive"


@pytest.mark.parametrize(
    ("rating", "expected"),
    [(1, "negative"), (2, "negative"), (3, "neutral"), (4, "positive"), (5, "positive")],
)
def test_without_a_comment_the_rating_decides(rating, expected):
    for empty in (None, "", "   "):
        label, compound = classify(empty, rating)
        assert (label.value, compound) == (expected, None)


def test_themes_are_the_most_frequent_meaningful_words():
    comments = [
        "Too fast, the examples were confusing",
        "Confusing notes and a fast pace",
        "The examples were confusing and the class was too fast!",
        None,
        "",
    ]
    assert themes(comments, top=3) == [("confusing", 3), ("fast", 3), ("examples", 2)]
    words = {w for w, _ in themes(comments, top=20)}
    assert not words & {"the", "and", "were", "too", "class", "a"}  # stop-words removed


def test_a_word_counts_once_per_comment():
    assert themes(["notes notes notes", "notes"]) == [("notes", 2)]
