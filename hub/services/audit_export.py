"""Export the audit trail with the fields needed to verify it independently."""

from __future__ import annotations

import csv
import json
from typing import IO

from .. import audit
from ..db import db

COLUMNS = ["seq", "at", "actor_id", "actor_username", "actor_name", "actor_unit", "ip", "user_agent", "action",
           "object_type", "object_id", "unit", "summary", "details", "prev_hash", "hash"]


def export(fh: IO[str], fmt: str) -> int:
    s = db.session()
    n = 0
    writer = csv.writer(fh) if fmt == "csv" else None
    if writer:
        writer.writerow(COLUMNS)
    for e in audit.iter_entries(s):
        d = audit.entry_to_dict(e, with_chain=True)
        if writer:
            writer.writerow([d["seq"], d["at"], e.actor_id or "", e.actor_username, e.actor_name, e.actor_unit,
                             e.ip, e.user_agent, e.action, e.object_type, e.object_id, e.unit_code, e.summary,
                             e.details, e.prev_hash, e.hash])
        else:
            fh.write(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
    s.rollback()
    with db.transaction() as s2:
        audit.record(s2, "audit.export", object_type="audit", summary=f"导出审计日志 {n} 条（{fmt}）",
                     details={"format": fmt, "entries": n})
    return n
