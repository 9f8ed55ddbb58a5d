"""core.ownership: the one "exists and belongs to this institute" check for ids a person
passes, in its three answers (the row, NotFound, or None for a caller with its own message),
and a super admin's reach over every institute."""

import pytest

from app.academics.models import Student
from app.core import ownership
from app.core.errors import NotFound, PermissionDenied
from app.core.roles import Role
from app.core.tenancy import Actor
from tests import factories as f


def test_a_row_is_found_only_in_its_own_institute_and_a_stranger_looks_never_used(db):
    mine, theirs = f.institute(db), f.institute(db)
    pupil, stranger = f.student(db, mine), f.student(db, theirs)
    with db.scope(system=True) as s:
        assert ownership.find_owned(s, Student, pupil.id, mine.id).id == pupil.id
        assert ownership.find_owned(s, Student, stranger.id, mine.id) is None
        assert ownership.find_owned(s, Student, 10**9, mine.id) is None
        assert ownership.find_owned(s, Student, None, mine.id) is None
        for row_id in (stranger.id, 10**9, None):
            with pytest.raises(NotFound, match="^That student does not exist.$"):
                ownership.owned(s, Student, row_id, mine.id, "student")
        # A super admin's reach (None) is every institute.
        assert ownership.owned(s, Student, stranger.id, None, "student").id == stranger.id


def test_reach_is_the_actors_institute_every_institute_for_a_super_admin_and_none_unattached():
    assert ownership.reach(Actor(user_id=1, role=Role.ADMIN, institute_id=7)) == 7
    assert ownership.reach(Actor(user_id=1, role=Role.SUPER_ADMIN, institute_id=None)) is None
    with pytest.raises(PermissionDenied, match="not attached to an institute"):
        ownership.reach(Actor(user_id=1, role=Role.TEACHER, institute_id=None))
