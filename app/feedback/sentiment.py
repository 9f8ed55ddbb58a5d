"""Sentiment of a feedback comment (VADER) and the themes behind many comments.

VADER's compound score uses the standard thresholds: ≥ 0.05 positive, ≤ −0.05 negative, neutral
between. A feedback without a comment takes its sentiment from the rating (4–5 positive, 3
neutral, 1–2 negative).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from app.feedback.models import Sentiment

POSITIVE_MIN = 0.05
NEGATIVE_MAX = -0.05


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def score(text: str) -> float:
    """VADER's compound score of a text, from −1 (very negative) to 1 (very positive)."""
    return float(_analyzer().polarity_scores(text)["compound"])


def label_for_score(compound: float) -> Sentiment:
    if compound >= POSITIVE_MIN:
        return Sentiment.POSITIVE
    if compound <= NEGATIVE_MAX:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


def label_for_rating(rating: int) -> Sentiment:
    if rating >= 4:
        return Sentiment.POSITIVE
    if rating <= 2:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


def classify(comment: str | None, rating: int) -> tuple[Sentiment, float | None]:
    """The sentiment of a feedback and its compound score (None when it came from the rating)."""
    text = (comment or "").strip()
    if not text:
        return label_for_rating(rating), None
    compound = score(text)
    return label_for_score(compound), compound


# English stop-words plus words every comment about a class uses, which carry no theme.
_STOP_WORDS_TEXT = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get gets got had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how how's
    i i'd i'll i'm i've if in into is isn't it it's its itself just let's like me more most much
    mustn't my myself no nor not now of off on once one only or other ought our ours ourselves out
    over own really same shan't she she'd she'll she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll they're
    they've this those through to too under until up us very was wasn't we we'd we'll we're we've
    were weren't what what's when when's where where's which while who who's whom why why's will
    with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
    class classes session sessions sir madam mam maam teacher teachers today lot bit even still
    always never ever every many thing things way quite well much made make makes
    """
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_WORD = re.compile(r"[a-z][a-z']+")


def themes(comments: Iterable[str | None], *, top: int = 8) -> list[tuple[str, int]]:
    """The most frequent meaningful words in some comments (stop-words removed), with counts;
    each word counts once per comment, ties broken alphabetically."""
    counts: Counter[str] = Counter()
    for comment in comments:
        if not comment:
            continue
        words = {
            w.strip("'")
            for w in _WORD.findall(comment.lower())
            if w.strip("'") not in STOP_WORDS and len(w.strip("'")) > 2
        }
        counts.update(words)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
