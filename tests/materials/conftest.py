"""Every materials service test runs against both stores: the local disk and S3 (moto)."""

from __future__ import annotations

import pytest

from app.core.config import reset_settings_cache
from app.materials.storage import get_storage

BUCKET = "cohort-materials-test"


@pytest.fixture(params=["local", "s3"])
def store(request, db, tmp_path, monkeypatch):
    """The configured materials store (set through the settings, as in production)."""
    if request.param == "local":
        monkeypatch.setenv("MATERIALS_DIR", str(tmp_path / "files"))
        monkeypatch.delenv("MATERIALS_S3_BUCKET", raising=False)
        reset_settings_cache()
        yield get_storage()
        return
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MATERIALS_S3_BUCKET": BUCKET,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MATERIALS_S3_ENDPOINT_URL", raising=False)
    reset_settings_cache()
    with mock_aws():
        storage = get_storage()
        storage.client.create_bucket(Bucket=BUCKET)
        yield storage
    reset_settings_cache()
