"""Lexicon management for admins: browse the shared lexicon and the units' additions, add
and disable entries, switch shared rules off for a unit, import and export CSV.

Every change is audited and appends a :class:`LexiconVersion` in the same transaction; the
version label (``<files version>+<number>``) is what findings record. An admin manages the
units of their subtree; an addition or a disabled rule applies to its unit and every unit
below it. Supervisors may browse.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import audit
from hub.checks import service as checks_svc
from hub.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from hub.i18n_marks import N_
from hub.models import LexiconDisable, LexiconEntry, LexiconVersion, Unit, User
from hub.permissions import is_admin_of, overseen_unit_ids

CATEGORY_LABELS = {"typo": N_("错敏字"), "outdated": N_("过时表述"), "sensitive": N_("敏感信息"), "ad": N_("商业广告"),
                   "source": N_("认可的转载来源"), "domain": N_("允许的链接域名"), "leader": N_("领导人姓名职务")}
WORD_CATEGORIES = ("typo", "outdated", "sensitive", "ad")
CSV_COLUMNS = ("category", "wrong", "right", "severity", "reason", "exceptions", "tag", "since")
MAX_IMPORT_ROWS = 5000
MAX_WORD = 50
MAX_REASON = 500
_HOST = re.compile(r"^(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
_BAD_CHARS = re.compile(r"[\t\r\n|｜<>]")
_FORMULA = ("=", "+", "-", "@")  # spreadsheet formula prefixes: never written into an exported CSV


# -- who ---------------------------------------------------------------------------------------
def may_browse(user: User) -> bool:
    return user.has_role("admin") or user.has_role("supervisor")


def require_browse(user: User) -> None:
    if not may_browse(user):
        raise Forbidden("只有管理员和主管单位可以查看词库", code="not_admin")


def managed_units(session: Session, user: User) -> list[Unit]:
    """Units whose lexicon additions ``user`` manages (the subtrees of their admin grants)."""
    ids: set[int] = set()
    for g in user.roles:
        if g.role == "admin":
            from hub.permissions import subtree_ids

            ids |= subtree_ids(session, g.unit_id)
    if not ids:
        return []
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.id)).unique())


def _unit_for_change(session: Session, user: User, code: Any) -> Unit:
    if not user.has_role("admin"):
        raise Forbidden("只有管理员可以修改词库", code="not_admin")
    if not isinstance(code, str) or not code.strip():
        raise BadRequest("缺少 unit（单位代码）", code="missing_unit")
    unit = session.scalars(select(Unit).where(Unit.code == code.strip())).first()
    known = overseen_unit_ids(session, user) | {u.id for u in user.unit.path()}  # own subtree and units above
    if unit is None or unit.id not in known:
        raise NotFound(f"单位 {code} 不存在", code="unit_not_found")
    if not is_admin_of(session, user, unit.id):
        raise Forbidden(f"您不是{unit.name}的管理员，不能修改其词库", code="not_admin")
    return unit


# -- versions ----------------------------------------------------------------------------------
def new_version(session: Session, user: User | None, unit: Unit | None, summary: str) -> LexiconVersion:
    """Append the next lexicon version (after the change is flushed). A concurrent change that
    took the same number makes this one fail with 409 (nothing is written; retry)."""
    from review.checks import LEXICON_VERSION

    session.flush()
    number = (session.scalar(select(func.max(LexiconVersion.number))) or 0) + 1
    v = LexiconVersion(number=number, digest=checks_svc.state_digest(session), files_version=LEXICON_VERSION,
                       summary=summary[:500], unit_id=unit.id if unit else None,
                       actor_id=user.id if user else None)
    session.add(v)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("词库正被他人修改，请稍后重试", code="lexicon_busy") from None
    return v


def version_json(v: LexiconVersion) -> dict[str, Any]:
    from hub.times import iso

    return {"number": v.number, "label": checks_svc.version_label(v.number), "files_version": v.files_version,
            "summary": v.summary, "unit": v.unit.code if v.unit else None,
            "actor": v.actor.to_ref() if v.actor else None, "at": iso(v.at)}


# -- validation --------------------------------------------------------------------------------
def _text(data: dict, key: str, max_len: int, *, required: bool = False, where: str = "") -> str:
    v = data.get(key, "")
    if v is None:
        v = ""
    if not isinstance(v, str):
        raise BadRequest(f"{where}字段 {key} 必须是字符串", code="invalid_field", field=key)
    v = v.strip()
    if v[:1] in _FORMULA:
        raise Unprocessable(f"{where}字段 {key} 不能以 = + - @ 开头（导出到表格时会被当作公式）", code="invalid_field",
                            field=key)
    if required and not v:
        raise BadRequest(f"{where}缺少 {key}", code="missing_field", field=key)
    if len(v) > max_len:
        raise Unprocessable(f"{where}字段 {key} 不得超过 {max_len} 个字符", code="field_too_long", field=key)
    return v


def validate_addition(data: Any, where: str = "") -> dict[str, Any]:
    """Normalised fields of a new addition, or a specific 400/422 error."""
    from review.checks import ADDITION_CATEGORIES
    from review.checks.lexicon import SENSITIVE_TAGS, SEVERITIES, fold

    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    category = _text(data, "category", 16, required=True, where=where)
    if category not in ADDITION_CATEGORIES:
        raise Unprocessable(f"{where}未知类别 {category}（可选：{', '.join(ADDITION_CATEGORIES)}）",
                            code="invalid_category", field="category")
    wrong = _text(data, "wrong", 100 if category == "domain" else MAX_WORD, required=True, where=where)
    out: dict[str, Any] = {"category": category, "wrong": wrong, "right": "", "severity": "", "reason": "",
                           "exceptions": "", "tag": "", "since": ""}
    if _BAD_CHARS.search(wrong):
        raise Unprocessable(f"{where}词条不能包含制表符、换行、竖线或尖括号", code="invalid_word", field="wrong")
    if category == "domain":
        host = wrong.lower().rstrip(".")
        if host.startswith(("http://", "https://")) or not _HOST.match(host):
            raise Unprocessable(f"{where}域名格式不正确：{wrong}（如 example.org.cn，不带 http://）",
                                code="invalid_domain", field="wrong")
        out["wrong"] = host.lstrip("*.")
    elif len(fold(wrong).strip()) < 2:
        raise Unprocessable(f"{where}词条至少需要 2 个字符（单字会大量误报）", code="word_too_short", field="wrong")
    out["reason"] = _text(data, "reason", MAX_REASON, where=where)
    if category in WORD_CATEGORIES:
        sev = _text(data, "severity", 8, where=where)
        if sev and sev not in SEVERITIES:
            raise Unprocessable(f"{where}严重程度只能是 block、warn 或 info", code="invalid_severity",
                                field="severity")
        out["severity"] = sev
        exc = [x.strip() for x in _text(data, "exceptions", 2000, where=where).replace("｜", "|").split("|")
               if x.strip()]
        bad = [x for x in exc if fold(wrong) not in fold(x)]
        if bad:
            raise Unprocessable(f"{where}例外词必须包含词条本身：{'、'.join(bad)}", code="invalid_exceptions",
                                field="exceptions")
        out["exceptions"] = "|".join(exc)
    if category in ("typo", "outdated"):
        right = _text(data, "right", MAX_WORD, required=True, where=where)
        if _BAD_CHARS.search(right):
            raise Unprocessable(f"{where}建议用语不能包含制表符、换行、竖线或尖括号", code="invalid_word",
                                field="right")
        if fold(right) == fold(wrong):
            raise Unprocessable(f"{where}建议用语与词条相同", code="same_as_wrong", field="right")
        out["right"] = right
    if category == "outdated":
        out["since"] = _text(data, "since", 20, where=where)
    if category == "sensitive":
        tag = _text(data, "tag", 8, required=True, where=where)
        if tag not in SENSITIVE_TAGS:
            raise Unprocessable(f"{where}未知的条款标签 {tag}（6.1–6.11、7.1–7.9）", code="invalid_tag", field="tag")
        out["tag"] = tag
    return out


def _shared_words() -> set[tuple[str, str]]:
    from review.checks.lexicon import get_lexicon

    return {(e.category, e.wrong) for e in get_lexicon().entries if e.scope is None}


def _existing(session: Session, unit_id: int, category: str, wrong: str) -> LexiconEntry | None:
    from review.checks.lexicon import fold

    for e in session.scalars(select(LexiconEntry).where(
            LexiconEntry.unit_id == unit_id, LexiconEntry.category == category,
            LexiconEntry.active.is_(True))).unique():
        if fold(e.wrong).lower() == fold(wrong).lower():
            return e
    return None


def _duplicate_reason(session: Session, unit: Unit, f: dict[str, Any], shared: set[tuple[str, str]]) -> str:
    """Why ``f`` would duplicate an entry already in force for ``unit`` ("" if it does not)."""
    from review.checks.lexicon import fold

    if (f["category"], fold(f["wrong"])) in shared:
        return f"共享词库已有“{f['wrong']}”"
    for u in unit.path():
        if _existing(session, u.id, f["category"], f["wrong"]) is not None:
            return f"{u.name}已添加“{f['wrong']}”"
    return ""


# -- changes -----------------------------------------------------------------------------------
def add_entry(session: Session, user: User, data: Any) -> LexiconEntry:
    """Add one entry for a unit (and the units below it)."""
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    unit = _unit_for_change(session, user, data.get("unit"))
    unknown = set(data) - {"unit", *CSV_COLUMNS}
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    f = validate_addition(data)
    why = _duplicate_reason(session, unit, f, _shared_words())
    if why:
        raise Conflict(f"{why}，无需重复添加", code="duplicate_entry")
    entry = LexiconEntry(unit_id=unit.id, created_by=user, active=True, version_added=0, **f)
    session.add(entry)
    label = CATEGORY_LABELS[f["category"]]
    v = new_version(session, user, unit, f"{unit.name}添加{label}“{f['wrong']}”")
    entry.version_added = v.number
    audit.record(session, "lexicon.add", object_type="lexicon_entry", object_id=entry.id, unit=unit,
                 summary=f"词库添加{label}“{f['wrong']}”" + (f"→“{f['right']}”" if f["right"] else ""),
                 details={**f, "version": checks_svc.version_label(v.number)})
    return entry


def disable_entry(session: Session, user: User, entry_id: int, data: Any) -> LexiconEntry:
    """Disable a unit's addition (the row stays, with who, when and why)."""
    entry = session.get(LexiconEntry, entry_id)
    if entry is None or not may_browse(user) or entry.unit_id not in overseen_unit_ids(session, user):
        raise NotFound("词条不存在", code="entry_not_found")
    if not is_admin_of(session, user, entry.unit_id):
        raise Forbidden("只有该单位的管理员可以停用词条", code="not_admin")
    if not entry.active:
        raise Conflict("该词条已停用", code="already_disabled")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    reason = _text(data, "reason", MAX_REASON)
    entry.active = False
    entry.disabled_by = user
    entry.disabled_reason = reason
    from hub.models import utcnow

    entry.disabled_at = utcnow()
    label = CATEGORY_LABELS.get(entry.category, entry.category)
    v = new_version(session, user, entry.unit, f"{entry.unit.name}停用{label}“{entry.wrong}”")
    entry.version_disabled = v.number
    audit.record(session, "lexicon.disable", object_type="lexicon_entry", object_id=entry.id, unit=entry.unit,
                 summary=f"词库停用{label}“{entry.wrong}”" + (f"：{reason[:100]}" if reason else ""),
                 details={"category": entry.category, "wrong": entry.wrong, "reason": reason,
                          "version": checks_svc.version_label(v.number)})
    return entry


def shared_rules() -> dict[str, Any]:
    """Rule id → a shared-lexicon entry (the rules a unit may switch off)."""
    from review.checks.lexicon import get_lexicon

    out: dict[str, Any] = {}
    for e in get_lexicon().entries:
        if e.scope is None:
            out.setdefault(e.rule, e)
    return out


def disable_rule(session: Session, user: User, data: Any) -> LexiconDisable:
    """Switch a shared-lexicon rule off for a unit (and the units below it), with a reason."""
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象", code="invalid_body")
    unit = _unit_for_change(session, user, data.get("unit"))
    unknown = set(data) - {"unit", "rule", "reason"}
    if unknown:
        raise BadRequest(f"未知字段：{', '.join(sorted(unknown))}", code="unknown_field")
    rule = _text(data, "rule", 200, required=True)
    reason = _text(data, "reason", MAX_REASON, required=True)
    entry = shared_rules().get(rule)
    if entry is None:
        raise Unprocessable(f"共享词库中没有规则 {rule}（个人信息、涉密标识、地图和链接等规则不能停用）",
                            code="unknown_rule", field="rule")
    for u in unit.path():
        if session.scalars(select(LexiconDisable.id).where(LexiconDisable.unit_id == u.id, LexiconDisable.rule == rule,
                                                           LexiconDisable.active.is_(True))).first():
            raise Conflict(f"{u.name}已停用规则 {rule}", code="already_disabled")
    d = LexiconDisable(unit_id=unit.id, rule=rule, reason=reason, active=True, created_by=user,
                       version_added=0)
    session.add(d)
    v = new_version(session, user, unit, f"{unit.name}停用共享规则 {rule}")
    d.version_added = v.number
    audit.record(session, "lexicon.rule_disable", object_type="lexicon_rule", object_id=rule, unit=unit,
                 summary=f"本单位停用共享词库规则 {rule}（“{entry.wrong}”）：{reason[:100]}",
                 details={"rule": rule, "reason": reason, "version": checks_svc.version_label(v.number)})
    return d


def lift_disable(session: Session, user: User, disable_id: int) -> LexiconDisable:
    """Switch a disabled shared rule back on."""
    d = session.get(LexiconDisable, disable_id)
    if d is None or not may_browse(user) or d.unit_id not in overseen_unit_ids(session, user):
        raise NotFound("停用记录不存在", code="disable_not_found")
    if not is_admin_of(session, user, d.unit_id):
        raise Forbidden("只有该单位的管理员可以恢复规则", code="not_admin")
    if not d.active:
        raise Conflict("该规则已恢复", code="already_lifted")
    from hub.models import utcnow

    d.active = False
    d.lifted_by = user
    d.lifted_at = utcnow()
    v = new_version(session, user, d.unit, f"{d.unit.name}恢复共享规则 {d.rule}")
    d.version_lifted = v.number
    audit.record(session, "lexicon.rule_enable", object_type="lexicon_rule", object_id=d.rule, unit=d.unit,
                 summary=f"恢复共享词库规则 {d.rule}", details={"rule": d.rule,
                                                           "version": checks_svc.version_label(v.number)})
    return d


# -- CSV ---------------------------------------------------------------------------------------
def import_csv(session: Session, user: User, unit_code: Any, raw: bytes | str) -> dict[str, Any]:
    """Add every row of a CSV (columns as ``CSV_COLUMNS``; ``category`` and ``wrong`` required)
    to a unit. All or nothing: any bad row rejects the file with its row numbers. Rows already
    in force (shared, this unit's path, or earlier in the file) are skipped and counted."""
    unit = _unit_for_change(session, user, unit_code)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Unprocessable("文件不是 UTF-8 编码的 CSV", code="invalid_csv") from None
    raw = raw.lstrip("\ufeff")
    if not raw.strip():
        raise Unprocessable("CSV 文件为空", code="invalid_csv")
    try:
        reader = csv.DictReader(io.StringIO(raw))
        header = [h.strip() for h in (reader.fieldnames or [])]
        rows = list(reader)
    except csv.Error as exc:
        raise Unprocessable(f"CSV 格式错误：{exc}", code="invalid_csv") from None
    if "category" not in header or "wrong" not in header:
        raise Unprocessable("CSV 第一行必须是表头，至少包含 category 和 wrong 两列", code="invalid_csv")
    if len(rows) > MAX_IMPORT_ROWS:
        raise Unprocessable(f"一次最多导入 {MAX_IMPORT_ROWS} 行", code="too_many_rows")
    errors: list[str] = []
    valid: list[dict[str, Any]] = []
    for n, row in enumerate(rows, start=2):
        clean = {(k or "").strip(): (v if isinstance(v, str) else "") for k, v in row.items()}
        clean = {k: v for k, v in clean.items() if k in CSV_COLUMNS}
        if not any(v.strip() for v in clean.values()):
            continue
        try:
            valid.append(validate_addition(clean, where=f"第 {n} 行："))
        except (BadRequest, Unprocessable) as exc:
            errors.append(exc.message)
    if errors:
        more = f"（另有 {len(errors) - 20} 处）" if len(errors) > 20 else ""
        raise Unprocessable("导入失败，未做任何修改：" + "；".join(errors[:20]) + more, code="invalid_rows",
                            errors=errors[:100])
    from review.checks.lexicon import fold

    shared = _shared_words()
    seen: set[tuple[str, str]] = set()
    added: list[LexiconEntry] = []
    skipped = 0
    for f in valid:
        key = (f["category"], fold(f["wrong"]).lower())
        if key in seen or _duplicate_reason(session, unit, f, shared):
            skipped += 1
            continue
        seen.add(key)
        e = LexiconEntry(unit_id=unit.id, created_by=user, active=True, version_added=0, **f)
        session.add(e)
        added.append(e)
    if not added:
        return {"added": 0, "skipped": skipped, "version": None}
    v = new_version(session, user, unit, f"{unit.name}导入 {len(added)} 个词条")
    for e in added:
        e.version_added = v.number
    audit.record(session, "lexicon.import", object_type="lexicon", object_id=unit.code, unit=unit,
                 summary=f"词库导入 {len(added)} 个词条（跳过重复 {skipped} 个）",
                 details={"added": len(added), "skipped": skipped, "version": checks_svc.version_label(v.number),
                          "entry_ids": [e.id for e in added][:500]})
    return {"added": len(added), "skipped": skipped, "version": checks_svc.version_label(v.number)}


def export_csv(session: Session, user: User, unit_code: str | None = None, shared: bool = False) -> str:
    """CSV of the active additions of the units ``user`` may browse (or of one unit), and with
    ``shared`` the shared lexicon too. Columns: ``scope`` (unit code or "shared"), then
    ``CSV_COLUMNS``: the file can be imported again (``scope`` is ignored on import)."""
    require_browse(user)
    units = overseen_unit_ids(session, user)
    if unit_code:
        unit = session.scalars(select(Unit).where(Unit.code == unit_code)).first()
        if unit is None or unit.id not in units:
            raise NotFound(f"单位 {unit_code} 不存在", code="unit_not_found")
        units = {unit.id}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(("scope", *CSV_COLUMNS))
    if shared:
        for row in shared_rows():
            w.writerow(("shared", *(row.get(c, "") for c in CSV_COLUMNS)))
    entries = session.scalars(select(LexiconEntry).where(LexiconEntry.unit_id.in_(units or {-1}),
                                                         LexiconEntry.active.is_(True))
                              .order_by(LexiconEntry.unit_id, LexiconEntry.id)).unique()
    for e in entries:
        w.writerow((e.unit.code, e.category, e.wrong, e.right, e.severity, e.reason, e.exceptions, e.tag, e.since))
    return "\ufeff" + buf.getvalue()  # BOM: spreadsheet programs then read the CSV as UTF-8


def shared_rows() -> list[dict[str, str]]:
    """The shared lexicon files as rows in the CSV's columns."""
    from review.checks.lexicon import lexicon_rows

    out: list[dict[str, str]] = []
    for r in lexicon_rows("typo.tsv"):
        out.append({"category": "typo", **{k: r.get(k, "") for k in ("wrong", "right", "severity", "reason",
                                                                     "exceptions")}})
    for r in lexicon_rows("outdated.tsv"):
        out.append({"category": "outdated", **{k: r.get(k, "") for k in ("wrong", "right", "since", "severity",
                                                                         "reason", "exceptions")}})
    for r in lexicon_rows("sensitive.tsv"):
        out.append({"category": "sensitive", "wrong": r["term"], "tag": r.get("tag", ""),
                    "severity": r.get("severity", ""), "reason": r.get("reason", ""),
                    "exceptions": r.get("exceptions", "")})
    for r in lexicon_rows("ad.tsv"):
        out.append({"category": "ad", "wrong": r["term"], "severity": r.get("severity", ""),
                    "reason": r.get("reason", ""), "exceptions": r.get("exceptions", "")})
    for r in lexicon_rows("sources.tsv"):
        out.append({"category": "source", "wrong": r["name"]})
    return out


# -- browsing ----------------------------------------------------------------------------------
PAGE_SIZE = 100


def browse(session: Session, user: User, *, category: str = "", q: str = "", page: int = 1) -> dict[str, Any]:
    """The shared entries (filtered, paged), the additions and disables of the units ``user``
    oversees and of their ancestors (read-only), and the version history."""
    require_browse(user)
    from review.checks.lexicon import fold

    q = (q or "").strip()[:50]
    needle = fold(q).lower()
    shared = [e for e in shared_rules().values()
              if (not category or e.category == category)
              and (not needle or needle in e.wrong.lower() or needle in (e.suggestion or "").lower())]
    page = max(1, page)
    total = len(shared)
    shared = shared[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    units = overseen_unit_ids(session, user) | {u.id for u in user.unit.path()}
    stmt = select(LexiconEntry).where(LexiconEntry.unit_id.in_(units)).order_by(LexiconEntry.id.desc())
    if category:
        stmt = stmt.where(LexiconEntry.category == category)
    additions = [e for e in session.scalars(stmt.limit(2000)).unique()
                 if not needle or needle in fold(e.wrong).lower() or needle in fold(e.right).lower()]
    disables = list(session.scalars(select(LexiconDisable).where(LexiconDisable.unit_id.in_(units))
                                    .order_by(LexiconDisable.id.desc()).limit(500)).unique())
    versions = list(session.scalars(select(LexiconVersion).order_by(LexiconVersion.number.desc()).limit(50)).unique())
    head = versions[0] if versions else None
    return {"shared": shared, "shared_total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
            "additions": additions, "disables": disables, "versions": versions,
            "version": checks_svc.version_label(head.number if head else 0),
            "managed": managed_units(session, user)}


def entry_json(e: LexiconEntry) -> dict[str, Any]:
    from hub.times import iso

    return {"id": e.id, "unit": e.unit.code, "category": e.category, "wrong": e.wrong, "right": e.right,
            "severity": e.severity, "reason": e.reason, "exceptions": list(checks_svc.split_exceptions(e.exceptions)),
            "tag": e.tag, "since": e.since, "active": e.active,
            "version_added": checks_svc.version_label(e.version_added),
            "version_disabled": checks_svc.version_label(e.version_disabled) if e.version_disabled else None,
            "created_by": e.created_by.to_ref() if e.created_by else None, "created_at": iso(e.created_at),
            "disabled_by": e.disabled_by.to_ref() if e.disabled_by else None, "disabled_at": iso(e.disabled_at)}


def disable_json(d: LexiconDisable) -> dict[str, Any]:
    from hub.times import iso

    return {"id": d.id, "unit": d.unit.code, "rule": d.rule, "reason": d.reason, "active": d.active,
            "version_added": checks_svc.version_label(d.version_added),
            "created_by": d.created_by.to_ref() if d.created_by else None, "created_at": iso(d.created_at),
            "lifted_by": d.lifted_by.to_ref() if d.lifted_by else None, "lifted_at": iso(d.lifted_at)}


def shared_json(e: Any) -> dict[str, Any]:
    return {"rule": e.rule, "category": e.category, "wrong": e.wrong, "suggestion": e.suggestion,
            "severity": e.severity, "message": e.message}
