"""carry(): a read model from a stored row's fields of the same names."""

from dataclasses import dataclass

import pytest

from app.core.rows import carry


@dataclass(frozen=True)
class Summary:
    id: int
    name: str
    members: int
    note: str = "none"


class Row:
    id = 7
    name = "Class 10 A"
    capacity = 30  # not a field of Summary: left behind


def test_fields_come_from_the_row_and_the_keywords():
    assert carry(Summary, Row(), members=12) == Summary(id=7, name="Class 10 A", members=12)


def test_a_keyword_replaces_the_rows_value_and_defaults_stay():
    assert carry(Summary, Row(), members=1, name="Renamed", note="x") == Summary(
        id=7, name="Renamed", members=1, note="x"
    )


def test_a_field_nobody_gives_is_an_error():
    with pytest.raises(TypeError, match="members"):
        carry(Summary, Row())
