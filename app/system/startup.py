"""What every start does to the database before pages are served, whoever starts it: the web
process on its first run (app/ui/bootstrap.py, once per process) or `python -m app.serve`
before it starts several web processes (once for all of them, so two never seed at once)."""

from __future__ import annotations

import logging

from app.core.config import get_settings
from app.core.db import engine_for, session_scope
from app.core.migrate import upgrade_to_head
from app.identity import service as identity
from app.identity.bootstrap import bootstrap_admins, bootstrap_super_admins

log = logging.getLogger("cohort")


def prepare_database(url: str, auto_migrate: bool, seed_demo: bool) -> str:
    """Migrate when asked, make the configured admins, seed the small demo institute into an
    empty development database, then make the configured super admins."""
    if get_settings().dev_sign_in:
        log.warning(
            "Dev sign-in is on (APP_ENV=dev, DEV_SIGN_IN unset or 1): anyone who can open the "
            "sign-in page on this machine can sign in as any user. Set DEV_SIGN_IN=0 to turn it off."
        )
    if auto_migrate:
        upgrade_to_head(url)
    with session_scope(system=True, engine=engine_for(url)) as session:
        bootstrap_admins(session, settings=get_settings())
    if seed_demo:
        from app.demo.seed import seed_demo as build  # dev only: the demo's builders are big

        with session_scope(system=True, engine=engine_for(url)) as session:
            empty = identity.count_users(session) == 0
        if empty:
            log.warning("Empty development database: seeding the small demo institute.")
            build(size="small", engine=engine_for(url))
    # After the demo seed (which needs an empty database), on every start.
    with session_scope(system=True, engine=engine_for(url)) as session:
        bootstrap_super_admins(session, settings=get_settings())
    return url
