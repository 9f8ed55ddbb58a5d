"""Which pages each role may open. st.navigation receives only these; pages also guard themselves."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from app.core.roles import Role


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    url_path: str


INSTITUTES = PageSpec(
    "pages/super_admin/institutes.py", "Institutes", ":material/apartment:", "institutes"
)
OVERVIEW = PageSpec("pages/admin/overview.py", "Overview", ":material/dashboard:", "overview")
USERS = PageSpec("pages/admin/users.py", "Users", ":material/group:", "users")
MY_ACCOUNT = PageSpec("pages/common/my_account.py", "My account", ":material/person:", "my-account")
SYSTEM = PageSpec("pages/admin/system.py", "System", ":material/monitor_heart:", "system")
AUDIT_LOG = PageSpec("pages/admin/audit_log.py", "Audit log", ":material/history:", "audit-log")
RULES = PageSpec("pages/admin/rules.py", "Notification rules", ":material/rule:", "rules")
ANNOUNCEMENTS = PageSpec(
    "pages/common/announcements.py", "Announcements", ":material/campaign:", "announcements"
)
MESSAGES = PageSpec("pages/common/messages.py", "Messages", ":material/notifications:", "messages")
TODAY = PageSpec("pages/teacher/today.py", "Today", ":material/today:", "today")
ATTENDANCE = PageSpec(
    "pages/teacher/attendance.py", "Attendance", ":material/fact_check:", "attendance"
)
INBOX = PageSpec("pages/teacher/inbox.py", "Action inbox", ":material/inbox:", "inbox")
BATCHES = PageSpec("pages/admin/batches.py", "Batches", ":material/groups:", "batches")
STUDENTS = PageSpec("pages/admin/students.py", "Students register", ":material/badge:", "students")
IMPORT_STUDENTS = PageSpec(
    "pages/admin/import_students.py", "Import students", ":material/upload_file:", "import"
)
SYLLABUS = PageSpec("pages/admin/syllabus.py", "Syllabus", ":material/menu_book:", "syllabus")
FEES = PageSpec("pages/admin/fees.py", "Fees", ":material/payments:", "fees")
FEE_REPORTS = PageSpec(
    "pages/admin/fee_reports.py", "Fee reports", ":material/summarize:", "fee-reports"
)
RISK = PageSpec("pages/common/risk.py", "Student risk", ":material/shield:", "risk")
LEARNING = PageSpec(
    "pages/common/learning_analytics.py",
    "Learning analytics",
    ":material/insights:",
    "learning-analytics",
)
HOMEWORK = PageSpec("pages/teacher/homework.py", "Homework", ":material/assignment:", "homework")
ASSESSMENTS = PageSpec(
    "pages/teacher/assessments.py", "Assessments", ":material/grading:", "assessments"
)
DRAFTS = PageSpec(
    "pages/teacher/drafts.py", "Draft with AI", ":material/auto_awesome:", "draft-with-ai"
)
REPORT_CARD = PageSpec(
    "pages/common/report_card.py", "Report card", ":material/school:", "report-card"
)
MY_REPORT_CARD = PageSpec(
    "pages/common/report_card.py", "My report card", ":material/school:", "my-report-card"
)
MY_FEES = PageSpec("pages/student/my_fees.py", "My fees", ":material/receipt_long:", "my-fees")
MY_DASHBOARD = PageSpec(
    "pages/student/dashboard.py", "My dashboard", ":material/space_dashboard:", "my-dashboard"
)
MY_SCHEDULE = PageSpec(
    "pages/student/schedule.py", "My schedule", ":material/calendar_month:", "my-schedule"
)
MY_ATTENDANCE = PageSpec(
    "pages/student/attendance.py", "My attendance", ":material/fact_check:", "my-attendance"
)
MY_HOMEWORK = PageSpec(
    "pages/student/homework.py", "My homework", ":material/assignment:", "my-homework"
)
MATERIALS = PageSpec(
    "pages/common/materials.py", "Materials", ":material/folder_open:", "materials"
)
MY_MATERIALS = PageSpec(
    "pages/student/materials.py", "Materials", ":material/folder_open:", "my-materials"
)
MY_TESTS = PageSpec("pages/student/tests.py", "My tests", ":material/grading:", "my-tests")
MY_PROGRESS = PageSpec(
    "pages/student/progress.py", "My progress", ":material/trending_up:", "my-progress"
)
MY_ANNOUNCEMENTS = PageSpec(
    "pages/student/announcements.py", "Announcements", ":material/campaign:", "my-announcements"
)
SIGN_IN = PageSpec("pages/public/sign_in.py", "Sign in", ":material/login:", "sign-in")
ATTENDANCE_LINK = PageSpec(
    "pages/public/attendance_link.py", "Attendance", ":material/fact_check:", "take-attendance"
)
BADGE_CATALOG = PageSpec(
    "pages/admin/badges.py", "Badge catalog", ":material/workspace_premium:", "badge-catalog"
)
BADGE_REQUESTS = PageSpec(
    "pages/teacher/badge_requests.py",
    "Badge requests",
    ":material/military_tech:",
    "badge-requests",
)
MY_BADGES = PageSpec(
    "pages/student/badges.py", "My badges", ":material/military_tech:", "my-badges"
)
VERIFY_BADGE = PageSpec(
    "pages/public/verify_badge.py", "Verify a badge", ":material/verified:", "verify-badge"
)
FEEDBACK = PageSpec("pages/common/feedback.py", "Feedback", ":material/reviews:", "feedback")
POINTS = PageSpec(
    "pages/teacher/points.py", "Rewards & penalties", ":material/star_half:", "points"
)
GIVE_FEEDBACK = PageSpec(
    "pages/student/feedback.py", "Feedback", ":material/rate_review:", "my-feedback"
)
MY_POINTS = PageSpec("pages/student/points.py", "My points", ":material/stars:", "my-points")
PIPELINE = PageSpec("pages/counselor/pipeline.py", "Pipeline", ":material/view_kanban:", "pipeline")
CRM_ANALYTICS = PageSpec(
    "pages/counselor/crm_analytics.py", "CRM analytics", ":material/filter_alt:", "crm-analytics"
)
OPS_DESK = PageSpec("pages/common/ops_desk.py", "Ops desk", ":material/support_agent:", "ops-desk")
ONBOARDING = PageSpec("pages/public/onboarding.py", "Welcome", ":material/waving_hand:", "welcome")
REQUEST_ACCESS = PageSpec(
    "pages/public/request_access.py", "Request access", ":material/how_to_reg:", "request-access"
)
ENQUIRE = PageSpec(
    "pages/public/enquire.py", "Send an enquiry", ":material/contact_support:", "enquire"
)
ACCESS_REQUESTS = PageSpec(
    "pages/admin/access_requests.py", "Access requests", ":material/person_add:", "access-requests"
)
NEW_PASSWORD = PageSpec(
    "pages/common/new_password.py", "New password", ":material/password:", "new-password"
)

# The first page of each list is the role's landing page.
NAVIGATION: dict[Role, list[PageSpec]] = {
    Role.SUPER_ADMIN: [INSTITUTES, SYSTEM, AUDIT_LOG, MY_ACCOUNT],
    Role.ADMIN: [
        OVERVIEW,
        OPS_DESK,
        TODAY,
        ATTENDANCE,
        HOMEWORK,
        ASSESSMENTS,
        DRAFTS,
        INBOX,
        RISK,
        LEARNING,
        STUDENTS,
        REPORT_CARD,
        IMPORT_STUDENTS,
        PIPELINE,
        CRM_ANALYTICS,
        BATCHES,
        SYLLABUS,
        MATERIALS,
        FEES,
        FEE_REPORTS,
        BADGE_CATALOG,
        BADGE_REQUESTS,
        FEEDBACK,
        POINTS,
        USERS,
        ACCESS_REQUESTS,
        ANNOUNCEMENTS,
        RULES,
        SYSTEM,
        AUDIT_LOG,
        MESSAGES,
        MY_ACCOUNT,
    ],
    Role.TEACHER: [
        TODAY,
        OPS_DESK,
        ATTENDANCE,
        HOMEWORK,
        ASSESSMENTS,
        DRAFTS,
        REPORT_CARD,
        MATERIALS,
        INBOX,
        BADGE_REQUESTS,
        FEEDBACK,
        POINTS,
        RISK,
        LEARNING,
        USERS,
        ANNOUNCEMENTS,
        MESSAGES,
        MY_ACCOUNT,
    ],
    Role.COUNSELOR: [
        PIPELINE,
        OPS_DESK,
        CRM_ANALYTICS,
        INBOX,
        RISK,
        STUDENTS,
        POINTS,
        FEEDBACK,
        REPORT_CARD,
        IMPORT_STUDENTS,
        MESSAGES,
        MY_ACCOUNT,
    ],
    Role.STUDENT: [
        MY_DASHBOARD,
        MY_SCHEDULE,
        MY_ATTENDANCE,
        MY_HOMEWORK,
        MY_MATERIALS,
        MY_TESTS,
        MY_PROGRESS,
        MY_FEES,
        MY_REPORT_CARD,
        MY_BADGES,
        MY_POINTS,
        GIVE_FEEDBACK,
        MY_ANNOUNCEMENTS,
        MESSAGES,
        MY_ACCOUNT,
    ],
}


def page_specs(role: Role) -> list[PageSpec]:
    return NAVIGATION[Role(role)]


def _page(spec: PageSpec, *, default: bool = False, title: str | None = None) -> st.Page:
    return st.Page(
        spec.path,
        title=title or spec.title,
        icon=spec.icon,
        url_path=spec.url_path,
        default=default,
    )


def pages_for(role: Role) -> list[st.Page]:
    """The role's pages, built once per browser session and role (they never change while it lasts)."""
    key = f"cohort_nav_pages_{Role(role).value}"
    pages = st.session_state.get(key)
    if pages is None:
        pages = st.session_state[key] = _build_pages_for(role)
    return pages


def _build_pages_for(role: Role) -> list[st.Page]:
    specs = page_specs(role)
    titles = {USERS.path: "Student accounts"} if role == Role.TEACHER else {}
    return [_page(s, default=i == 0, title=titles.get(s.path)) for i, s in enumerate(specs)]


def sign_in_pages() -> list[st.Page]:
    return [_page(SIGN_IN, default=True), _page(REQUEST_ACCESS), _page(ENQUIRE)]


def access_request_status_pages() -> list[st.Page]:
    return [_page(REQUEST_ACCESS, default=True)]


def new_password_pages() -> list[st.Page]:
    return [_page(NEW_PASSWORD, default=True)]


def attendance_link_pages() -> list[st.Page]:
    return [_page(ATTENDANCE_LINK, default=True)]


def verify_badge_pages() -> list[st.Page]:
    return [_page(VERIFY_BADGE, default=True)]


def onboarding_pages() -> list[st.Page]:
    return [_page(ONBOARDING, default=True)]
