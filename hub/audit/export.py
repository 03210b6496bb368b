"""Export the audit trail with every field needed to verify it independently.

Each exported entry carries all hashed fields plus ``prev_hash`` and
``hash``, so an inspector can recompute the chain without the hub
(docs/verify_export.py). A range export (``after``) starts with the entry
after ``after``; its first ``prev_hash`` ties it to the entry before.
"""

from __future__ import annotations

import csv
import json
from typing import IO, Any

from hub import audit
from hub.db import db

COLUMNS = ["seq", "at", "actor_id", "actor_username", "actor_name", "actor_unit", "ip", "user_agent", "action",
           "object_type", "object_id", "unit", "summary", "details", "prev_hash", "hash"]
FORMATS = ("jsonl", "csv")


def row_to_dict(row: audit.Row) -> dict[str, Any]:
    """An entry row (``audit.ENTRY_COLUMNS`` order) as the exported JSON object."""
    (seq, at, actor_id, username, name, actor_unit, ip, ua, action, otype, oid, unit, summary, details,
     prev_hash, hash_) = row
    return {
        "seq": int(seq), "at": audit.format_time(at),
        "actor": {"id": actor_id, "username": username, "name": name, "unit": actor_unit},
        "ip": ip, "user_agent": ua, "action": action, "object_type": otype, "object_id": oid, "unit": unit,
        "summary": summary, "details": json.loads(details or "{}"), "prev_hash": prev_hash, "hash": hash_,
    }


def export(fh: IO[str], fmt: str, *, after: int = 0) -> int:
    """Write every entry with ``seq > after`` to ``fh`` as JSON lines or CSV; audit the export; return the count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    s = db.session()
    n = 0
    first = last = None
    writer = csv.writer(fh) if fmt == "csv" else None
    if writer:
        writer.writerow(COLUMNS)
    for row in audit.iter_rows(s, after=after):
        if writer:
            (seq, at, actor_id, *rest) = row
            writer.writerow([seq, audit.format_time(at), "" if actor_id is None else actor_id, *rest])
        else:
            fh.write(json.dumps(row_to_dict(row), ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
        first = first or int(row[0])
        last = int(row[0])
    fh.flush()
    s.rollback()
    rng = f"第 {first}–{last} 条" if n else "无记录"
    with db.transaction() as s2:
        audit.record(s2, "audit.export", object_type="audit", summary=f"导出审计日志 {n} 条（{fmt}，{rng}）",
                     details={"format": fmt, "entries": n, "after": after, "first_seq": first, "last_seq": last})
    return n
