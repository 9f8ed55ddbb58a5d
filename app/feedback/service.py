"""Student feedback: give it (optionally anonymously), see one's own, and, for staff, list, export,
review and resolve it. Sentiment comes from the comment (VADER) or, without one, the rating;
negative or ≤ 2-star feedback opens a `negative_feedback` action in the inbox.

Anonymity (see app/feedback/models.py): anonymous rows store no student at all, so every staff
function here reads from a table that cannot name them; staff rows show "Anonymous". The student
sees only their own *named* feedback: anonymous feedback is not linked to them, not even for them.
"""

from __future__ import annotations

from app.academics.service import has_student_record as has_student_record
from app.academics.service import my_student as my_student
from app.feedback.common import ANONYMOUS, FEEDBACK_WINDOW_DAYS, MAX_COMMENT, STAFF_ROLES
from app.feedback.giving import (
    MyFeedback,
    SessionTarget,
    Submitted,
    TeacherTarget,
    guard_key,
    my_feedback,
    my_subjects,
    my_subjects_internal,
    my_teachers,
    recent_sessions,
    submit_feedback,
)
from app.feedback.review import (
    EXPORT_COLUMNS,
    FeedbackRow,
    export_csv,
    get_feedback,
    list_feedback,
    resolve_feedback,
    review_feedback,
    staff_filters,
)

__all__ = [
    "ANONYMOUS",
    "EXPORT_COLUMNS",
    "FEEDBACK_WINDOW_DAYS",
    "FeedbackRow",
    "MAX_COMMENT",
    "MyFeedback",
    "STAFF_ROLES",
    "SessionTarget",
    "Submitted",
    "TeacherTarget",
    "export_csv",
    "get_feedback",
    "guard_key",
    "has_student_record",
    "list_feedback",
    "my_feedback",
    "my_student",
    "my_subjects",
    "my_subjects_internal",
    "my_teachers",
    "recent_sessions",
    "resolve_feedback",
    "review_feedback",
    "staff_filters",
    "submit_feedback",
]
