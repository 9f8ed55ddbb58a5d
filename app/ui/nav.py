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


def _spec(file: str, title: str, icon: str, url_path: str) -> PageSpec:
    """A page from its file under pages/, its title, its Material icon's name and its address."""
    return PageSpec(f"pages/{file}", title, f":material/{icon}:", url_path)


INSTITUTES = _spec("super_admin/institutes.py", "Institutes", "apartment", "institutes")
OVERVIEW = _spec("admin/overview.py", "Overview", "dashboard", "overview")
USERS = _spec("admin/users.py", "Users", "group", "users")
MY_ACCOUNT = _spec("common/my_account.py", "My account", "person", "my-account")
SYSTEM = _spec("admin/system.py", "System", "monitor_heart", "system")
AUDIT_LOG = _spec("admin/audit_log.py", "Audit log", "history", "audit-log")
RULES = _spec("admin/rules.py", "Notification rules", "rule", "rules")
ANNOUNCEMENTS = _spec("common/announcements.py", "Announcements", "campaign", "announcements")
MESSAGES = _spec("common/messages.py", "Messages", "notifications", "messages")
TODAY = _spec("teacher/today.py", "Today", "today", "today")
ATTENDANCE = _spec("teacher/attendance.py", "Attendance", "fact_check", "attendance")
INBOX = _spec("teacher/inbox.py", "Action inbox", "inbox", "inbox")
BATCHES = _spec("admin/batches.py", "Batches", "groups", "batches")
STUDENTS = _spec("admin/students.py", "Students register", "badge", "students")
IMPORT_STUDENTS = _spec("admin/import_students.py", "Import students", "upload_file", "import")
SYLLABUS = _spec("admin/syllabus.py", "Syllabus", "menu_book", "syllabus")
FEES = _spec("admin/fees.py", "Fees", "payments", "fees")
FEE_REPORTS = _spec("admin/fee_reports.py", "Fee reports", "summarize", "fee-reports")
RISK = _spec("common/risk.py", "Student risk", "shield", "risk")
LEARNING = _spec(
    "common/learning_analytics.py", "Learning analytics", "insights", "learning-analytics"
)
HOMEWORK = _spec("teacher/homework.py", "Homework", "assignment", "homework")
ASSESSMENTS = _spec("teacher/assessments.py", "Assessments", "grading", "assessments")
DRAFTS = _spec("teacher/drafts.py", "Draft with AI", "auto_awesome", "draft-with-ai")
REPORT_CARD = _spec("common/report_card.py", "Report card", "school", "report-card")
MY_REPORT_CARD = _spec("common/report_card.py", "My report card", "school", "my-report-card")
MY_FEES = _spec("student/my_fees.py", "My fees", "receipt_long", "my-fees")
MY_DASHBOARD = _spec("student/dashboard.py", "My dashboard", "space_dashboard", "my-dashboard")
MY_SCHEDULE = _spec("student/schedule.py", "My schedule", "calendar_month", "my-schedule")
MY_ATTENDANCE = _spec("student/attendance.py", "My attendance", "fact_check", "my-attendance")
MY_HOMEWORK = _spec("student/homework.py", "My homework", "assignment", "my-homework")
MATERIALS = _spec("common/materials.py", "Materials", "folder_open", "materials")
MY_MATERIALS = _spec("student/materials.py", "Materials", "folder_open", "my-materials")
MY_TESTS = _spec("student/tests.py", "My tests", "grading", "my-tests")
MY_PROGRESS = _spec("student/progress.py", "My progress", "trending_up", "my-progress")
MY_ANNOUNCEMENTS = _spec(
    "student/announcements.py", "Announcements", "campaign", "my-announcements"
)
SIGN_IN = _spec("public/sign_in.py", "Sign in", "login", "sign-in")
ATTENDANCE_LINK = _spec("public/attendance_link.py", "Attendance", "fact_check", "take-attendance")
BADGE_CATALOG = _spec("admin/badges.py", "Badge catalog", "workspace_premium", "badge-catalog")
BADGE_REQUESTS = _spec(
    "teacher/badge_requests.py", "Badge requests", "military_tech", "badge-requests"
)
MY_BADGES = _spec("student/badges.py", "My badges", "military_tech", "my-badges")
VERIFY_BADGE = _spec("public/verify_badge.py", "Verify a badge", "verified", "verify-badge")
FEEDBACK = _spec("common/feedback.py", "Feedback", "reviews", "feedback")
POINTS = _spec("teacher/points.py", "Rewards & penalties", "star_half", "points")
GIVE_FEEDBACK = _spec("student/feedback.py", "Feedback", "rate_review", "my-feedback")
MY_POINTS = _spec("student/points.py", "My points", "stars", "my-points")
PIPELINE = _spec("counselor/pipeline.py", "Pipeline", "view_kanban", "pipeline")
CRM_ANALYTICS = _spec("counselor/crm_analytics.py", "CRM analytics", "filter_alt", "crm-analytics")
OPS_DESK = _spec("common/ops_desk.py", "Ops desk", "support_agent", "ops-desk")
ONBOARDING = _spec("public/onboarding.py", "Welcome", "waving_hand", "welcome")
REQUEST_ACCESS = _spec("public/request_access.py", "Request access", "how_to_reg", "request-access")
ENQUIRE = _spec("public/enquire.py", "Send an enquiry", "contact_support", "enquire")
ACCESS_REQUESTS = _spec(
    "admin/access_requests.py", "Access requests", "person_add", "access-requests"
)
NEW_PASSWORD = _spec("common/new_password.py", "New password", "password", "new-password")

# The first page of each list is the role's landing page; the lists are kept as written.
# fmt: off
NAVIGATION: dict[Role, list[PageSpec]] = {
    Role.SUPER_ADMIN: [INSTITUTES, SYSTEM, AUDIT_LOG, MY_ACCOUNT],
    Role.ADMIN: [
        OVERVIEW, OPS_DESK, TODAY, ATTENDANCE, HOMEWORK, ASSESSMENTS, DRAFTS, INBOX, RISK, LEARNING,
        STUDENTS, REPORT_CARD, IMPORT_STUDENTS, PIPELINE, CRM_ANALYTICS, BATCHES, SYLLABUS,
        MATERIALS, FEES, FEE_REPORTS, BADGE_CATALOG, BADGE_REQUESTS, FEEDBACK, POINTS, USERS,
        ACCESS_REQUESTS, ANNOUNCEMENTS, RULES, SYSTEM, AUDIT_LOG, MESSAGES, MY_ACCOUNT,
    ],
    Role.TEACHER: [
        TODAY, OPS_DESK, ATTENDANCE, HOMEWORK, ASSESSMENTS, DRAFTS, REPORT_CARD, MATERIALS, INBOX,
        BADGE_REQUESTS, FEEDBACK, POINTS, RISK, LEARNING, USERS, ANNOUNCEMENTS, MESSAGES,
        MY_ACCOUNT,
    ],
    Role.COUNSELOR: [
        PIPELINE, OPS_DESK, CRM_ANALYTICS, INBOX, RISK, STUDENTS, POINTS, FEEDBACK, REPORT_CARD,
        IMPORT_STUDENTS, MESSAGES, MY_ACCOUNT,
    ],
    Role.STUDENT: [
        MY_DASHBOARD, MY_SCHEDULE, MY_ATTENDANCE, MY_HOMEWORK, MY_MATERIALS, MY_TESTS, MY_PROGRESS,
        MY_FEES, MY_REPORT_CARD, MY_BADGES, MY_POINTS, GIVE_FEEDBACK, MY_ANNOUNCEMENTS, MESSAGES,
        MY_ACCOUNT,
    ],
}
# fmt: on


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
