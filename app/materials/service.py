"""Learning materials: staff share files and links with a subject, a topic or a batch; students
of those batches list and download them. Every read is checked here against the actor's
institute and, for students, their current batches; anything else is "not found"."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, or_, true
from sqlmodel import Session, col, select

from app.academics import service as academics_service
from app.academics.models import Batch, BatchMembership, Subject, Topic
from app.core import audit, clock, events
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.core.ownership import owned
from app.core.roles import Role
from app.core.rows import carry
from app.core.tenancy import Actor
from app.identity.models import User
from app.materials import sniff as sniffing
from app.materials.models import Material, MaterialKind
from app.materials.storage import Storage, StoredObject, get_storage, new_key

STAFF = (Role.ADMIN, Role.TEACHER)
NOT_SHARED = "That material does not exist or is not shared with you."
RETENTION = timedelta(days=30)  # soft-deleted files are kept this long before cleanup
ORPHAN_GRACE = timedelta(hours=1)  # an object this new may belong to an upload still committing
CLEANUP_CHUNK = 500


@dataclass(frozen=True)
class MaterialRow:
    """One material as a list shows it."""

    id: int
    kind: str
    title: str
    original_name: str | None
    url: str | None
    size_bytes: int
    content_type: str | None
    subject_id: int
    subject: str
    topic: str | None
    batch: str | None
    uploaded_by: str | None
    created_at: datetime
    deleted_at: datetime | None

    @property
    def target(self) -> str:
        if self.batch:
            return f"Batch {self.batch}"
        if self.topic:
            return f"{self.subject} › {self.topic}"
        return self.subject

    @property
    def size_label(self) -> str:
        if self.kind == MaterialKind.LINK:
            return "link"
        size = float(self.size_bytes)
        for unit in ("bytes", "KB", "MB"):
            if size < 1024 or unit == "MB":
                return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
            size /= 1024
        return ""  # unreachable


@dataclass(frozen=True)
class MaterialFile:
    """A file ready to hand to the browser."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Targets:
    """What the actor may share materials with: (id, label) pairs."""

    subjects: list[tuple[int, str]]
    topics: list[tuple[int, str]]
    batches: list[tuple[int, str]]


def upload_rules() -> tuple[list[str], int]:
    """The file extensions an upload may have (as a file picker wants them) and the size limit
    in MB, from the settings."""
    settings = get_settings()
    extensions = sniffing.allowed_extensions(settings.MATERIALS_ALLOWED_TYPES)
    aliases = [alias for alias, ext in sniffing.ALIASES.items() if ext in extensions]
    return extensions + [a for a in aliases if a in ("jpeg",)], settings.MATERIALS_MAX_MB


# ------------------------------------------------------------------ who may see what


def _teacher_batches(actor: Actor, institute_id: int):
    return select(Batch.id).where(
        Batch.institute_id == institute_id, Batch.teacher_user_id == actor.user_id
    )


def _teacher_subjects(actor: Actor, institute_id: int):
    return select(Batch.subject_id).where(
        Batch.institute_id == institute_id, Batch.teacher_user_id == actor.user_id
    )


def _visible(session: Session, actor: Actor, institute_id: int) -> ColumnElement[bool]:
    """The materials the actor may see, as a WHERE clause (live and deleted alike)."""
    if actor.role == Role.ADMIN:
        return true()
    if actor.role == Role.TEACHER:
        batches, subjects = (
            _teacher_batches(actor, institute_id),
            _teacher_subjects(actor, institute_id),
        )
    elif actor.role == Role.STUDENT:
        student = academics_service.my_student(session, actor=actor)
        batches = select(BatchMembership.batch_id).where(
            BatchMembership.institute_id == institute_id,
            BatchMembership.student_id == student.id,
            col(BatchMembership.left_on).is_(None),
        )
        subjects = select(Batch.subject_id).where(
            Batch.institute_id == institute_id, col(Batch.id).in_(batches)
        )
    else:
        raise PermissionDenied("Learning materials are for staff and students.")
    return or_(
        col(Material.batch_id).in_(batches),
        and_(col(Material.batch_id).is_(None), col(Material.subject_id).in_(subjects)),
    )


def _rows(session: Session, where: Iterable[ColumnElement[bool]]) -> list[MaterialRow]:
    query = (
        select(Material, Subject.name, Topic.name, Batch.name, User.name)
        .join(Subject, Subject.id == Material.subject_id)
        .outerjoin(Topic, Topic.id == Material.topic_id)
        .outerjoin(Batch, Batch.id == Material.batch_id)
        .outerjoin(User, User.id == Material.uploaded_by)
        .where(*where)
        .order_by(Subject.name, col(Material.created_at).desc(), col(Material.id).desc())
    )
    return [
        carry(MaterialRow, m, subject=subject, topic=topic, batch=batch, uploaded_by=uploader)
        for m, subject, topic, batch, uploader in session.exec(query).all()
    ]


def _material(session: Session, actor: Actor, material_id: int) -> Material:
    """A live material the actor may see, else NotFound (the same answer for every reason)."""
    institute_id = actor.institute_scope()
    material = session.exec(
        select(Material).where(
            Material.id == material_id,
            Material.institute_id == institute_id,
            col(Material.deleted_at).is_(None),
            _visible(session, actor, institute_id),
        )
    ).first()
    if material is None:
        raise NotFound(NOT_SHARED)
    return material


# ------------------------------------------------------------------ sharing


def share_targets(session: Session, *, actor: Actor) -> Targets:
    """The subjects, topics and batches the actor may share materials with (a teacher: their
    batches and those batches' subjects)."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    batches = select(Batch.id, Batch.name, Subject.name).join(
        Subject, Subject.id == Batch.subject_id
    )
    subjects = select(Subject.id, Subject.name).where(
        Subject.institute_id == institute_id, col(Subject.archived_at).is_(None)
    )
    topics = (
        select(Topic.id, Subject.name, Topic.name)
        .join(Subject, Subject.id == Topic.subject_id)
        .where(
            Topic.institute_id == institute_id,
            col(Topic.archived_at).is_(None),
            col(Subject.archived_at).is_(None),
        )
    )
    batches = batches.where(Batch.institute_id == institute_id, col(Batch.active).is_(True))
    if actor.role == Role.TEACHER:
        batches = batches.where(Batch.teacher_user_id == actor.user_id)
        taught = _teacher_subjects(actor, institute_id)
        subjects = subjects.where(col(Subject.id).in_(taught))
        topics = topics.where(col(Topic.subject_id).in_(taught))
    return Targets(
        subjects=[(i, name) for i, name in session.exec(subjects.order_by(Subject.name))],
        topics=[
            (i, f"{subject} › {name}")
            for i, subject, name in session.exec(topics.order_by(Subject.name, Topic.position))
        ],
        batches=[
            (i, f"{name} · {subject}")
            for i, name, subject in session.exec(batches.order_by(Batch.name))
        ],
    )


def _target(
    session: Session,
    actor: Actor,
    institute_id: int,
    *,
    subject_id: int | None,
    topic_id: int | None,
    batch_id: int | None,
) -> tuple[int, int | None, int | None]:
    """Check the one chosen target and return (subject_id, topic_id, batch_id) to store."""
    chosen = [x for x in (subject_id, topic_id, batch_id) if x is not None]
    if len(chosen) != 1:
        raise ValidationError(
            "Share the material with one subject, one topic or one batch.", field="target"
        )
    if batch_id is not None:
        batch = owned(session, Batch, batch_id, institute_id, "batch")
        academics_service.ensure_teacher_scope(session, actor=actor, batch=batch)
        return batch.subject_id, None, batch.id
    if topic_id is not None:
        topic = owned(session, Topic, topic_id, institute_id, "topic")
        subject_id, found_topic = topic.subject_id, topic.id
    else:
        owned(session, Subject, subject_id, institute_id, "subject")
        found_topic = None
    if (
        actor.role == Role.TEACHER
        and not session.exec(
            _teacher_subjects(actor, institute_id).where(Batch.subject_id == subject_id)
        ).first()
    ):
        raise PermissionDenied("You can share materials only on subjects you teach.")
    return subject_id, found_topic, None


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_file_name(name: str) -> str:
    """The last part of a file name, without control or path characters, at most 255 long."""
    base = PurePath(str(name or "").replace("\\", "/")).name
    base = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip(" .")
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) < 20 else base[:255]
    return base or "file"


def checked_file(name: str, data: bytes, *, field: str) -> tuple[str, sniffing.FileType]:
    """A file's clean name and its type, once it is within the size limit and its contents
    are the allowed type its name says (a ValidationError on `field` for the uploader if not)."""
    settings = get_settings()
    name = clean_file_name(name)
    if len(data) > settings.MATERIALS_MAX_MB * 1024 * 1024:
        raise ValidationError(
            f"{name} is {len(data) / 1024 / 1024:.1f} MB; files can be at most "
            f"{settings.MATERIALS_MAX_MB} MB.",
            field=field,
        )
    return name, sniffing.sniff(name, data, allowed=settings.MATERIALS_ALLOWED_TYPES)


def upload_file(
    session: Session,
    *,
    actor: Actor,
    name: str,
    data: bytes,
    title: str | None = None,
    subject_id: int | None = None,
    topic_id: int | None = None,
    batch_id: int | None = None,
    storage: Storage | None = None,
) -> Material:
    """Share a file with a subject, a topic or a batch, after checking its size and that its
    contents are the allowed type its name says."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    target = _target(
        session, actor, institute_id, subject_id=subject_id, topic_id=topic_id, batch_id=batch_id
    )
    name, kind = checked_file(name, data, field="file")
    title = (title or "").strip() or name
    if len(title) > 200:
        raise ValidationError("The title is longer than 200 characters.", field="title")
    key = new_key(institute_id)
    digest = hashlib.sha256(data).hexdigest()
    (storage or get_storage()).put(key, data, content_type=kind.content_type)
    return _add_material(
        session,
        actor,
        target,
        "materials.upload",
        {"name": name, "size": len(data), "type": kind.extension, "sha256": digest},
        institute_id=institute_id,
        kind=MaterialKind.FILE.value,
        title=title,
        original_name=name,
        size_bytes=len(data),
        content_type=kind.content_type,
        sha256=digest,
        storage_key=key,
    )


def _add_material(
    session: Session,
    actor: Actor,
    target: tuple[int, int | None, int | None],
    action: str,
    detail: dict[str, Any],
    **fields: Any,
) -> Material:
    """Save a new material from the actor, shared with `target` (subject, topic, batch), and
    audit it as `action` with `detail` and the target."""
    subject_id, topic_id, batch_id = target
    material = Material(
        uploaded_by=actor.user_id,
        subject_id=subject_id,
        topic_id=topic_id,
        batch_id=batch_id,
        **fields,
    )
    audit.save_audited(
        session,
        material,
        actor=actor,
        action=action,
        target_type="material",
        detail={**detail, "subject_id": subject_id, "topic_id": topic_id, "batch_id": batch_id},
    )
    return material


def add_link(
    session: Session,
    *,
    actor: Actor,
    url: str,
    title: str | None = None,
    subject_id: int | None = None,
    topic_id: int | None = None,
    batch_id: int | None = None,
) -> Material:
    """Share a web link (http or https) with a subject, a topic or a batch."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    target = _target(
        session, actor, institute_id, subject_id=subject_id, topic_id=topic_id, batch_id=batch_id
    )
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in url:
        raise ValidationError(
            "Give a full web address starting with https:// (or http://).", field="url"
        )
    if len(url) > 2000:
        raise ValidationError("That web address is longer than 2000 characters.", field="url")
    title = (title or "").strip() or parts.netloc
    if len(title) > 200:
        raise ValidationError("The title is longer than 200 characters.", field="title")
    return _add_material(
        session,
        actor,
        target,
        "materials.add_link",
        {"url": url},
        institute_id=institute_id,
        kind=MaterialKind.LINK.value,
        title=title,
        url=url,
    )


# ------------------------------------------------------------------ reading


def list_materials(
    session: Session, *, actor: Actor, include_deleted: bool = False
) -> list[MaterialRow]:
    """Materials staff can see (a teacher: on their batches and the subjects they teach),
    by subject, newest first; deleted ones only when asked."""
    actor.require(*STAFF)
    institute_id = actor.institute_scope()
    where = [Material.institute_id == institute_id, _visible(session, actor, institute_id)]
    if not include_deleted:
        where.append(col(Material.deleted_at).is_(None))
    return _rows(session, where)


def my_materials(session: Session, *, actor: Actor) -> list[MaterialRow]:
    """The signed-in student's materials: those of their current batches and those shared with
    their batches' subjects and topics, by subject, newest first."""
    actor.require(Role.STUDENT)
    institute_id = actor.institute_scope()
    return _rows(
        session,
        [
            Material.institute_id == institute_id,
            col(Material.deleted_at).is_(None),
            _visible(session, actor, institute_id),
        ],
    )


def download(
    session: Session, *, actor: Actor, material_id: int, storage: Storage | None = None
) -> MaterialFile:
    """The file of a material the actor may see (staff downloads are audited)."""
    actor.require(*STAFF, Role.STUDENT)
    material = _material(session, actor, material_id)
    if material.kind != MaterialKind.FILE:
        raise ValidationError("That material is a link; open it in the browser instead.")
    try:
        data = (storage or get_storage()).get(material.storage_key)
    except KeyError:
        raise NotFound(
            f"The file for {material.title} is missing from storage; tell the office."
        ) from None
    if hashlib.sha256(data).hexdigest() != material.sha256:
        raise Conflict(f"The stored file for {material.title} is damaged; tell the office.")
    if actor.role in STAFF:
        audit.on(
            session,
            actor,
            "materials.download",
            material.id,
            {"name": material.original_name, "size": material.size_bytes},
            target_type="material",
        )
    return MaterialFile(
        name=material.original_name or "file",
        content_type=material.content_type or "application/octet-stream",
        data=data,
    )


# ------------------------------------------------------------------ removing


def delete_material(session: Session, *, actor: Actor, material_id: int) -> Material:
    """Withdraw a material: students stop seeing it at once; the file is removed 30 days later.
    Teachers may withdraw their own uploads and anything on their batches."""
    actor.require(*STAFF)
    material = _material(session, actor, material_id)
    if actor.role == Role.TEACHER and material.uploaded_by != actor.user_id:
        batch = session.get(Batch, material.batch_id) if material.batch_id else None
        if batch is None or batch.teacher_user_id != actor.user_id:
            raise PermissionDenied("You can withdraw only your own materials or your batches'.")
    material.deleted_at = clock.now()
    material.deleted_by = actor.user_id
    audit.save_audited(
        session,
        material,
        "materials.delete",
        actor=actor,
        target_type="material",
        detail={"title": material.title, "name": material.original_name},
    )
    return material


def cleanup_storage(
    session: Session,
    *,
    storage: Storage,
    retention: timedelta = RETENTION,
    grace: timedelta = ORPHAN_GRACE,
) -> dict[str, int]:
    """Delete stored objects no live material needs: objects with no record at all (older than
    the grace period, so an upload still committing is safe) and objects of materials withdrawn
    more than `retention` ago. One query per chunk of listed objects (system context)."""
    now = clock.now()
    counts = {"objects": 0, "orphans_deleted": 0, "expired_deleted": 0}
    chunk: list[StoredObject] = []

    def flush_chunk() -> None:
        keys = [obj.key for obj in chunk]
        records = dict(
            session.exec(
                select(Material.storage_key, Material.deleted_at).where(
                    col(Material.storage_key).in_(keys)
                )
            ).all()
        )
        orphans = tuple(key for key in keys if key not in records)
        kept: set[str] = set()
        if orphans:  # objects other domains keep in the same storage (homework hand-ins)
            for answer in events.publish(session, events.StorageKeysInUse(orphans)).values():
                kept |= set(answer or ())
        for obj in chunk:
            if obj.key in kept:
                continue
            if obj.key not in records:
                if obj.modified_at <= now - grace:
                    storage.delete(obj.key)
                    counts["orphans_deleted"] += 1
            elif records[obj.key] is not None and records[obj.key] <= now - retention:
                storage.delete(obj.key)
                counts["expired_deleted"] += 1
        chunk.clear()

    for obj in storage.list_keys():
        counts["objects"] += 1
        chunk.append(obj)
        if len(chunk) >= CLEANUP_CHUNK:
            flush_chunk()
    if chunk:
        flush_chunk()
    return counts
