"""SQL for PostgreSQL row-level security on tenant tables; used by migrations (keep it stable).

Policy: a row is visible and writable when its institute matches the transaction's
`app.institute_id`, or when the transaction carries the explicit super path `app.super = on`.
With neither set (a raw connection), tenant tables show no rows at all.
"""

from __future__ import annotations

TENANT_PREDICATE = (
    "({column} = nullif(current_setting('app.institute_id', true), '')::int "
    "OR current_setting('app.super', true) = 'on')"
)


def enable_rls(table: str, column: str = "institute_id") -> list[str]:
    predicate = TENANT_PREDICATE.format(column=column)
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING {predicate} WITH CHECK {predicate}",
    ]


def disable_rls(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def append_only_trigger_pg(table: str) -> list[str]:
    """Refuse UPDATE and DELETE on an append-only table (the ledger, the audit log)."""
    return [
        f"""
        CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only: % is not allowed', TG_OP;
        END;
        $$ LANGUAGE plpgsql
        """,
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
    ]


def append_only_trigger_sqlite(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE is not allowed'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE is not allowed'); END",
    ]
