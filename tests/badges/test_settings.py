"""The badge key-encryption setting: optional, but never a placeholder in production."""

import pytest
from pydantic import ValidationError as SettingsError

from app.core.config import Settings


def test_prod_refuses_a_placeholder_badge_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert Settings(_env_file=None).BADGE_KEY_ENCRYPTION_KEY is None  # derived from SECRET_KEY
    monkeypatch.setenv("BADGE_KEY_ENCRYPTION_KEY", "change-me")
    with pytest.raises(SettingsError, match="BADGE_KEY_ENCRYPTION_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("BADGE_KEY_ENCRYPTION_KEY", "k" * 40)
    assert Settings(_env_file=None).BADGE_KEY_ENCRYPTION_KEY == "k" * 40
