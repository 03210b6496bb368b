"""The bare Flask page the load benchmark compares every hub page with (issue 19).

One query for the 50 newest posts (with their current revision's title), a plain Jinja table, no
login, no extensions: what a page costs on this machine, database and gunicorn when it does
nothing else. Started by bench/load.py with the same gunicorn settings as the hub's Procfile:

    gunicorn --workers 2 --worker-class gthread --threads 8 "bench.bare_app:create_app()"

It reads HUB_DATABASE_URL like the hub.
"""

from __future__ import annotations

import os

from flask import Flask, render_template_string
from sqlalchemy import create_engine, text

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>最新稿件</title></head><body>
<table><tr><th>编号</th><th>标题</th><th>状态</th><th>创建时间</th></tr>
{% for r in rows %}<tr><td>{{ r.id }}</td><td>{{ r.title }}</td><td>{{ r.status }}</td><td>{{ r.created_at }}</td></tr>
{% endfor %}</table></body></html>"""

QUERY = text("SELECT p.id, r.title, p.status, p.created_at FROM posts p "
             "JOIN revisions r ON r.id = p.current_revision_id ORDER BY p.id DESC LIMIT 50")


def create_app() -> Flask:
    url = os.environ["HUB_DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, pool_size=10, pool_pre_ping=True)
    app = Flask(__name__)

    @app.get("/bare")
    def bare() -> str:
        with engine.connect() as c:
            rows = c.execute(QUERY).all()
        return render_template_string(PAGE, rows=rows)

    return app
