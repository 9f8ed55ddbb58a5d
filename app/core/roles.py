"""The five roles and who may create whom (PRODUCT §2)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    ADMIN = "admin"
    TEACHER = "teacher"
    COUNSELOR = "counselor"
    STUDENT = "student"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()


STAFF_ROLES = frozenset({Role.ADMIN, Role.TEACHER, Role.COUNSELOR})

# Who may create (invite) and manage users of which role.
CAN_MANAGE: dict[Role, frozenset[Role]] = {
    Role.SUPER_ADMIN: frozenset({Role.ADMIN}),
    Role.ADMIN: frozenset({Role.TEACHER, Role.COUNSELOR, Role.STUDENT}),
    Role.TEACHER: frozenset({Role.STUDENT}),
    Role.COUNSELOR: frozenset(),
    Role.STUDENT: frozenset(),
}


def manageable_roles(role: Role | str) -> frozenset[Role]:
    return CAN_MANAGE[Role(role)]
