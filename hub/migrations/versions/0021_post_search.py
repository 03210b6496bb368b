"""Full-text search of posts (issue 17): ``post_search`` and its index, filled for the existing posts.

PostgreSQL: the ``pg_trgm`` extension and a GIN trigram index on the title and on the body.
SQLite: an FTS5 table with the trigram tokenizer over ``post_search`` (external content), kept in
step by triggers. See hub/posts/search.py.

Revision ID: 0021
Revises: 0022
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0022"
branch_labels = None
depends_on = None

FTS = "post_search_fts"


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    if pg:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "post_search",
        sa.Column("post_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.PrimaryKeyConstraint("post_id"),
    )
    if pg:
        op.create_index("ix_post_search_title_trgm", "post_search", ["title"], postgresql_using="gin",
                        postgresql_ops={"title": "gin_trgm_ops"})
        op.create_index("ix_post_search_body_trgm", "post_search", ["body"], postgresql_using="gin",
                        postgresql_ops={"body": "gin_trgm_ops"})
    else:
        op.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5(title, body, content='post_search', "
                   "content_rowid='post_id', tokenize='trigram')")
        op.execute(f"CREATE TRIGGER post_search_ai AFTER INSERT ON post_search BEGIN "
                   f"INSERT INTO {FTS}(rowid, title, body) VALUES (new.post_id, new.title, new.body); END")
        op.execute(f"CREATE TRIGGER post_search_ad AFTER DELETE ON post_search BEGIN "
                   f"INSERT INTO {FTS}({FTS}, rowid, title, body) VALUES ('delete', old.post_id, old.title, old.body); "
                   "END")
        op.execute(f"CREATE TRIGGER post_search_au AFTER UPDATE ON post_search BEGIN "
                   f"INSERT INTO {FTS}({FTS}, rowid, title, body) VALUES ('delete', old.post_id, old.title, old.body); "
                   f"INSERT INTO {FTS}(rowid, title, body) VALUES (new.post_id, new.title, new.body); END")
    _backfill(bind)


def _backfill(bind: sa.engine.Connection) -> None:
    from hub.posts.search import index_rows

    rows = bind.execute(sa.text(
        "SELECT p.id, r.title, r.content, r.articles FROM posts p JOIN revisions r ON r.id = p.current_revision_id "
        "ORDER BY p.id")).all()
    batch = []
    for pid, title, content, articles in rows:
        if isinstance(articles, str):
            articles = json.loads(articles)
        batch.append((pid, title, content, articles))
        if len(batch) >= 1000:
            index_rows(bind, batch)
            batch = []
    index_rows(bind, batch)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_post_search_body_trgm", table_name="post_search")
        op.drop_index("ix_post_search_title_trgm", table_name="post_search")
    else:
        for t in ("post_search_au", "post_search_ad", "post_search_ai"):
            op.execute(f"DROP TRIGGER {t}")
        op.execute(f"DROP TABLE {FTS}")
    op.drop_table("post_search")
