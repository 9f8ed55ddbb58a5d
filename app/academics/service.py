"""People, syllabus and batches: what admins set up and teachers work with.

This module gathers the subdomain modules' names (`app.academics.batches`,
`app.academics.common`, `app.academics.students`, `app.academics.syllabus`) so callers keep one
import."""

from __future__ import annotations

from app.academics.batches import (  # noqa: F401 - re-exported
    NO_STUDENT_RECORD,
    BatchSummary,
    _local_today,
    _member_count,
    add_schedule,
    announcement_audience_internal,
    batch_schedules,
    create_batch,
    enroll,
    enrolments_of,
    ensure_teacher_scope,
    guardian_chat_of_student_user_internal,
    join_batch,
    leave_batch,
    list_batches,
    member_counts_on_internal,
    members_on_internal,
    my_student,
    remove_schedule,
    teacher_profiles,
    teachers,
    update_batch,
)
from app.academics.common import (  # noqa: F401 - re-exported
    COUNSELLING,
    STAFF,
    WEEKDAYS,
)
from app.academics.students import (  # noqa: F401 - re-exported
    LIMITS,
    _check_lengths,
    _institute_user,
    _status,
    add_guardian,
    create_student,
    ensure_student_scope,
    get_student,
    guardians_of,
    list_students,
    save_teacher_profile,
    update_student,
)
from app.academics.syllabus import (  # noqa: F401 - re-exported
    add_topic,
    create_subject,
    list_subjects,
    syllabus,
)
