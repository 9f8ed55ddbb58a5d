"""Where material files live: one small interface, a local-disk store and an S3-compatible store.

Keys are made here, never from a user's file name: `<institute id>/<32 hex characters>`. Both
stores refuse any other shape, so no key can climb out of the store's root.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from app.core.config import PROJECT_ROOT, Settings, get_settings

KEY_PATTERN = re.compile(r"^[0-9]{1,12}/[0-9a-f]{32}$")


class StorageError(RuntimeError):
    """The store could not be reached or refused the operation."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified_at: datetime  # UTC


def new_key(institute_id: int) -> str:
    """A fresh random key inside the institute's prefix."""
    return f"{int(institute_id)}/{secrets.token_hex(16)}"


def check_key(key: str) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"not a materials storage key: {key!r}")
    return key


class Storage(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def list_keys(self, prefix: str = "") -> Iterator[StoredObject]: ...


class LocalStorage:
    """Files under `root/<institute id>/<key>`, written atomically (temp file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str = "") -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                key = f"{folder.name}/{path.name}"
                if not KEY_PATTERN.fullmatch(key) or not key.startswith(prefix):
                    continue  # temp files and anything not ours
                stat = path.stat()
                yield StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, tz=UTC))


class S3Storage:
    """Objects in one bucket of S3 or an S3-compatible server (MinIO via endpoint_url)."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, client=None) -> None:
        import boto3

        self.bucket = bucket
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url or None)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type
        )

    def get(self, key: str) -> bytes:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except self.client.exceptions.NoSuchKey:
            raise KeyError(key) from None
        return reply["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def list_keys(self, prefix: str = "") -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                if KEY_PATTERN.fullmatch(item["Key"]):
                    yield StoredObject(item["Key"], int(item["Size"]), item["LastModified"])


def storage_root(settings: Settings) -> Path:
    root = Path(settings.MATERIALS_DIR)
    return root if root.is_absolute() else (PROJECT_ROOT / root).resolve()


def get_storage(settings: Settings | None = None) -> Storage:
    """The store the settings choose: S3 when MATERIALS_S3_BUCKET is set, else the local disk."""
    settings = settings or get_settings()
    if settings.MATERIALS_S3_BUCKET:
        return S3Storage(
            settings.MATERIALS_S3_BUCKET, endpoint_url=settings.MATERIALS_S3_ENDPOINT_URL
        )
    return LocalStorage(storage_root(settings))
