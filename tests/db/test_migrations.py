"""The Alembic migrations build exactly the schema the models describe, on this test's database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub.bootstrap import alembic_config
from hub.db import db
from hub.models import Base
from hub.posts.search import FTS_TABLE


def test_single_head(app):
    heads = ScriptDirectory.from_config(alembic_config(app.config["HUB_DATABASE_URL"])).get_heads()
    assert len(heads) == 1, f"several migration heads, add a merge revision: {heads}"


def test_models_match_migrations(app):
    assert db.engine is not None
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    if conn.dialect.name == "sqlite":
        # SQLite cannot add the posts → revisions foreign key after both tables exist (see 0001).
        diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "add_fk"
                                        and d[1].name == "fk_posts_current_revision")]
        # The FTS5 search table and its shadow tables are SQLite's own, not the models' (see 0021).
        diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table"
                                        and d[1].name.startswith(FTS_TABLE))]
    # Indexes the models make on one dialect only (``Index(...).ddl_if(dialect=...)``, e.g. the
    # PostgreSQL trigram indexes of post_search) are not expected on the others.
    elsewhere = {i.name for t in Base.metadata.tables.values() for i in t.indexes
                 if i._ddl_if is not None and i._ddl_if.dialect not in (None, conn.dialect.name)}
    diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "add_index" and d[1].name in elsewhere)]
    assert diff == []
