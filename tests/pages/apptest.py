"""AppTest helpers: run the real router as a given user."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
ALL_PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").rglob("*.py"))


def app_as(email: str | None, *, timeout: float = 30) -> AppTest:
    """The app with st.user seeded as signed in through the identity provider."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    if email is not None:
        at.user = {
            "is_logged_in": True,
            "email": email,
            "name": email.split("@")[0],
            "email_verified": True,
        }
    return at


def open_page(at: AppTest, path: str) -> AppTest:
    at.switch_page(path)
    return at.run()


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def by_label(elements, label: str):
    for element in elements:
        if element.label == label:
            return element
    raise AssertionError(f"no element labelled {label!r}; have {[e.label for e in elements]}")


def shown(value: object) -> str:
    """Markdown source as the user reads it: backslash escapes (app/ui/safe.esc) removed."""
    return re.sub(r"\\(.)", r"\1", str(value))


def texts(at: AppTest) -> str:
    parts = (
        [m.value for m in at.markdown] + [t.value for t in at.title] + [s.value for s in at.success]
    )
    parts += (
        [c.value for c in at.caption] + [e.value for e in at.error] + [i.value for i in at.info]
    )
    return "\n".join(shown(p) for p in parts)


def frame(at: AppTest, column: str):
    """The first table on the page that has `column` (st.dataframe carries no key in AppTest)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column")
