"""Homework and assessments: set for a batch, marked for the whole batch in one table, graded on
the institute's scale; results feed topic progress; one report card per student.

Homework: creating it writes one submission (assigned) per current batch member. Marking sets
submitted / late / missing / graded with the hand-in date; `on_time` is always derived from that
date (handed in on or before the due date), never typed. Work still `assigned` after its due
date becomes `missing` (the daily `homework_missing` job).

Assessments: creating one writes one result row per current batch member; entering marks sets
percentage = marks / max × 100 (2 decimals) and the grade from the institute's scale.

Teachers act only on the batches they teach, admins on every batch of their institute.

This module gathers the subdomain modules' names (`app.coursework.assessments`,
`app.coursework.common`, `app.coursework.grading`, `app.coursework.homework`,
`app.coursework.reportcard`, `app.coursework.student`) so callers keep one import."""

from __future__ import annotations

from app.coursework.assessments import (
    AssessmentSummary,
    ResultRow,
    ResultSheet,
    assessment_sheet,
    create_assessment,
    enter_marks,
    list_assessments,
    percentage_of,
    schedule_sitting,
)
from app.coursework.common import (
    DEFAULT_SCALE,
    HANDED_IN,
    STAFF,
    TEACHING,
    batch_topics,
    give_open_work_internal,
)
from app.coursework.grading import (
    grade_for,
    grade_scale,
    set_grade_scale,
)
from app.coursework.handin import (
    MAX_FILES,
    MAX_TEXT,
    HandedFile,
    HandIn,
    download_hand_in,
    hand_in,
    hand_in_keys_internal,
    hand_ins,
    my_hand_in,
)
from app.coursework.homework import (
    HomeworkSummary,
    MarkingRow,
    MarkingSheet,
    create_homework,
    homework_marking,
    list_homework,
    mark_homework,
    mark_missing_homework_internal,
)
from app.coursework.reportcard import (
    AssessmentLine,
    AttendanceSummary,
    HomeworkRecord,
    ReportCard,
    TopicLine,
    default_period,
    my_student,
    report_card,
    report_card_pdf,
    report_student,
)
from app.coursework.student import (
    MyHomework,
    MyResult,
    my_homework,
    my_results,
)

__all__ = [
    "MAX_FILES",
    "MAX_TEXT",
    "HandedFile",
    "HandIn",
    "download_hand_in",
    "hand_in",
    "hand_in_keys_internal",
    "hand_ins",
    "my_hand_in",
    "AssessmentLine",
    "AssessmentSummary",
    "AttendanceSummary",
    "DEFAULT_SCALE",
    "HANDED_IN",
    "HomeworkRecord",
    "HomeworkSummary",
    "MarkingRow",
    "MarkingSheet",
    "MyHomework",
    "MyResult",
    "ReportCard",
    "ResultRow",
    "ResultSheet",
    "STAFF",
    "TEACHING",
    "TopicLine",
    "assessment_sheet",
    "batch_topics",
    "create_assessment",
    "create_homework",
    "default_period",
    "enter_marks",
    "give_open_work_internal",
    "grade_for",
    "grade_scale",
    "homework_marking",
    "list_assessments",
    "list_homework",
    "mark_homework",
    "mark_missing_homework_internal",
    "my_homework",
    "my_results",
    "my_student",
    "percentage_of",
    "report_card",
    "report_card_pdf",
    "report_student",
    "schedule_sitting",
    "set_grade_scale",
]
