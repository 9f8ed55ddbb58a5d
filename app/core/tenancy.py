"""Who is acting: every service call receives an Actor and scopes its work by it."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import PermissionDenied
from app.core.roles import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in user (or a system job) on whose behalf a service runs."""

    user_id: int | None
    role: Role
    institute_id: int | None
    name: str = ""
    source: str = "web"

    @property
    def is_super_admin(self) -> bool:
        return self.role == Role.SUPER_ADMIN

    @classmethod
    def system(cls, institute_id: int | None = None, *, source: str = "worker") -> Actor:
        """A job acting for one institute (or for all, when institute_id is None)."""
        role = Role.SUPER_ADMIN if institute_id is None else Role.ADMIN
        return cls(user_id=None, role=role, institute_id=institute_id, name="system", source=source)

    def require(self, *roles: Role) -> None:
        """Refuse unless the actor has one of `roles`."""
        if self.role not in roles:
            raise PermissionDenied("You do not have permission to do that.")

    def institute_scope(self, institute_id: int | None = None) -> int:
        """The institute this call works in: the actor's own, or (super_admin) the one named."""
        if self.is_super_admin:
            if institute_id is None:
                raise PermissionDenied("Choose an institute first.")
            return institute_id
        if self.institute_id is None:
            raise PermissionDenied("Your account is not attached to an institute.")
        if institute_id is not None and institute_id != self.institute_id:
            raise PermissionDenied("You do not have permission to do that.")
        return self.institute_id
