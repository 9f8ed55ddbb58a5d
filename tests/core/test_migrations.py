"""The schema comes only from the migrations, and the migrations match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from app import models
from app.core.migrate import alembic_config, current_revision, head_revision


def test_database_is_at_head(db):
    assert current_revision(db.url) == head_revision() is not None


def test_no_drift_between_models_and_migrations(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), models.metadata
        )
    assert diff == []


def test_every_tenant_table_is_registered(db):
    """A table with an institute_id column must be listed for row-level security."""
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    with_institute = {
        t
        for t in tables
        if "institute_id" in {c["name"] for c in inspect(db.engine).get_columns(t)}
    }
    assert with_institute | {"institutes"} == set(models.TENANT_TABLES)


@pytest.mark.postgres
def test_rls_enabled_forced_and_policed_on_every_tenant_table(pg):
    from app.core.db import engine_for

    with engine_for(pg.url).connect() as conn:
        flags = dict(
            (row[0], (row[1], row[2]))
            for row in conn.execute(
                text(
                    "select relname, relrowsecurity, relforcerowsecurity from pg_class where relkind = 'r'"
                )
            )
        )
        policies = {
            row[0]
            for row in conn.execute(
                text("select tablename from pg_policies where policyname = 'tenant_isolation'")
            )
        }
        superuser = conn.execute(
            text("select rolsuper or rolbypassrls from pg_roles where rolname = current_user")
        ).scalar()
    assert superuser is False, "tests must connect as a role that row-level security applies to"
    for table in models.TENANT_TABLES:
        assert flags[table] == (True, True), table
        assert table in policies, table


def test_downgrade_to_base_and_back(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    assert current_revision(url) is None
    command.upgrade(cfg, "head")
    assert current_revision(url) == head_revision()
