"""Hub B for tests/audit/test_witness_remote.py: a second hub (own instance dir and SQLite database,
own process) with a witness user and a supervisor, served over real HTTP on a loopback port.

Prints one JSON line {"url", "witness_token", "editor_token", "supervisor_token"} once it serves,
then serves until killed. Run as ``python witness_hub.py`` with HUB_INSTANCE_DIR / HUB_DATABASE_URL set.
"""

from __future__ import annotations

import json
import sys

from werkzeug.serving import make_server


def main() -> None:
    from hub import audit, create_app
    from hub.bootstrap import initialise
    from hub.db import db
    from hub.org.service import create_token, create_unit, create_user

    app = create_app({"TESTING": True})
    with app.app_context():
        initialise(app)
        token = audit.current_actor.set(audit.Actor.system("test"))
        with db.transaction() as s:
            create_unit(s, "nmg", "内蒙古自治区", None, "region")
        with db.transaction() as s:
            create_user(s, "hub-a", "nmg", ["witness"], "witness-pass-123456", "某旗发布中心（见证）")
            create_user(s, "boss", "nmg", ["supervisor"], "super-pass-1234567", "主管")
            create_user(s, "ed", "nmg", ["editor"], "editor-pass-123456", "编辑")
        toks = {}
        for name, user in (("witness_token", "hub-a"), ("supervisor_token", "boss"), ("editor_token", "ed")):
            with db.transaction() as s:
                toks[name] = create_token(s, user)
        audit.current_actor.reset(token)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_port}", **toks}), flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
