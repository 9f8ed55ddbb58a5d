import pytest

from app.core import clock
from tests.portal.world import NOW, build


@pytest.fixture
def world(db):
    """The portal world, with the clock frozen at NOW for the whole test."""
    built = build(db)
    with clock.frozen(NOW):
        yield built
