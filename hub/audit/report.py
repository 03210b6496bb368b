"""The per-post accountability record (问责留痕): who drafted, who approved what, what went out, when.

Built from the post's rows and its audit entries, with the verification of
the audit trail from the post's first entry to the head (chain, witness and
signed checkpoints), so that a printed or exported record says whether the
trail behind it is intact. Rendered as HTML (templates/audit/accountability.html)
and as PDF (reportlab, built-in CID font STSong-Light: no system fonts).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import audit
from hub.approval.decisions import CONFIRMATION_KEYS, CONFIRMATION_LABELS
from hub.audit.search import post_entries
from hub.i18n_marks import N_
from hub.models import Account, Approval, Dispatch, Post, Revision, User

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Keyed by the audit actions as stored: never rename a key. Some keep an older word for what the code now
# calls otherwise (post.rescan_alert is an inspection alert: hub/checks/jobs.py).
ACTION_LABELS = {
    "post.validity": N_("修改效力标注"), "post.expired": N_("政策到期失效"), "post.update_push": N_("推送更新"),
    "dispatch.updated": N_("平台已更新"), "dispatch.update_failed": N_("更新推送失败"),
    "dispatch.update_refused": N_("拒绝推送更新"),
    "account.oauth_start": N_("发起平台授权"), "account.oauth_authorised": N_("完成平台授权"),
    "account.token_alert": N_("授权即将失效"), "account.token_alert_close": N_("授权已恢复"),
    "dispatch.awaiting_manual": N_("等待人工发布"), "dispatch.manual_check": N_("核对人工发布链接"),
    "message.receive": N_("收到留言"), "message.assign": N_("分派留言"), "message.forward": N_("转办留言"),
    "message.auto_answer": N_("问答库自动答复"), "message.close": N_("关闭留言"),
    "message.contacts_erased": N_("清除留言联系方式"), "message.due_warning": N_("留言临近期限"),
    "message.overdue": N_("留言逾期"), "answer.create": N_("起草答复"), "answer.edit": N_("修改答复"),
    "answer.approve": N_("答复审核通过"), "answer.reject": N_("答复退回"), "answer.refused": N_("答复被拒绝"),
    "answer.sent": N_("答复已发送"), "answer.send_failed": N_("答复发送失败"),
    "qa.create": N_("新增问答"), "qa.approve": N_("问答审核通过"), "qa.reject": N_("问答退回"),
    "metrics.pull": N_("拉取阅读数据"), "notify.channels": N_("修改通知渠道"), "notify.preferences": N_("修改通知偏好"),
    "post.create": N_("创建稿件"), "post.edit": N_("修改稿件"), "post.submit": N_("提交审核"), "post.approve": N_("审核通过"),
    "post.reject": N_("退回修改"), "post.reschedule": N_("修改定时"), "post.scheduled": N_("等待定时发布"),
    "post.schedule_missed": N_("定时已过"), "post.publishing": N_("开始发布"), "post.published": N_("发布完成"),
    "post.partially_published": N_("部分发布"), "post.failed": N_("发布失败"), "post.withdraw": N_("撤稿"),
    "post.withdrawn": N_("已撤稿"), "post.accountability_export": N_("导出问责留痕"),
    "dispatch.create": N_("创建发布任务"), "dispatch.attempt": N_("发布尝试"), "dispatch.published": N_("发布成功"),
    "dispatch.submitted": N_("已提交平台"), "dispatch.failed": N_("发布失败"), "dispatch.refused": N_("拒绝发布"),
    "dispatch.unconfirmed": N_("结果待核实"), "dispatch.retry": N_("重试发布"), "dispatch.cancelled": N_("取消发布"),
    "finding.override": N_("检查结果豁免"), "post.finding_override": N_("检查结果豁免"), "post.approved": N_("审核完成"),
    "post.comment": N_("评论"), "post.schedule_cancel": N_("取消定时"), "post.rescan_alert": N_("复查告警"),
    "dispatch.withdrawn": N_("已从平台撤下"), "dispatch.withdraw_failed": N_("撤稿失败"), "dispatch.requeued": N_("重新排队"),
    "dispatch.reconciled": N_("结果已核实"), "dispatch.recovered": N_("任务已恢复"), "dispatch.verified_absent": N_("核实未发布"),
    "dispatch.alert": N_("发布告警"),
    "account.update": N_("修改账号"), "account.withdraw": N_("撤回账号"), "account.filing_submit": N_("提交备案"),
    "account.filing_approve": N_("备案审批通过"), "account.filing_reject": N_("备案退回"), "account.filing_complete": N_("备案完成"),
    "account.credential_reveal": N_("查看凭据"), "account.credential_reveal_denied": N_("查看凭据被拒"),
    "account.credential_rotate": N_("轮换凭据"), "account.credential_rollback": N_("凭据回滚"),
    "account.credential_destroy": N_("销毁凭据"), "account.credential_lost": N_("凭据丢失"),
    "account.rotation_task_open": N_("创建轮换任务"), "account.suspend": N_("暂停账号"),
    "account.resume": N_("恢复账号"), "chain.update": N_("修改审核流程"), "unit.pause": N_("暂停发布"),
    "unit.resume": N_("恢复发布"), "user.disable": N_("停用用户"), "vault.retire_key": N_("停用旧密钥"),
    "vault.forget_version": N_("删除旧密钥版本"), "lexicon.add": N_("添加词条"), "lexicon.import": N_("导入词库"),
    "auth.login": N_("登录"), "auth.login_failed": N_("登录失败"), "auth.logout": N_("退出登录"),
    "unit.create": N_("创建单位"), "user.create": N_("创建用户"), "token.create": N_("创建 API 令牌"),
    "account.create": N_("创建账号"), "account.credentials_set": N_("设置凭据"), "account.credentials_verify": N_("校验凭据"),
    "vault.rotate_key": N_("轮换保险库主密钥"), "audit.export": N_("导出审计日志"), "audit.key_create": N_("创建审计签名密钥"),
    "user.edit": N_("修改用户"), "user.roles_change": N_("修改角色"), "user.enable": N_("重新启用用户"),
    "user.password_reset": N_("重置密码"), "user.password_set": N_("设置密码"), "user.totp_enrol": N_("启用二次验证"),
    "user.totp_reset": N_("重置二次验证"), "user.recovery_code_used": N_("使用恢复码"),
    "auth.session_expired": N_("登录超时"),
    "annual_report.overdue": N_("年度报表逾期"), "annual_report.published": N_("年度报表已公开"),
    "annual_report.reminder": N_("年度报表提醒"), "check.alert_ack": N_("确认复查告警"), "check.rescan": N_("每日复查"),
    "check.rescan_start": N_("开始每日复查"), "inspection.item": N_("巡检评分"), "inspection.publish": N_("公开巡检结果"),
    "inspection.quarterly": N_("季度巡检"), "lexicon.disable": N_("停用词条"), "lexicon.rule_disable": N_("停用规则"),
    "lexicon.rule_enable": N_("启用规则"), "monitor.alert": N_("监测预警"), "monitor.alert_close": N_("关闭监测预警"),
    "rectification.accept": N_("整改验收"), "rectification.escalate": N_("整改升级"), "rectification.open": N_("开启整改"),
    "rectification.report": N_("上报整改"), "witness.checkpoint_conflict": N_("见证检查点冲突"),
}
DECISION_LABELS = {"approved": N_("通过"), "rejected": N_("退回")}


def action_label(action: str) -> str:
    """The Chinese name of an action (the action code itself when unknown)."""
    return ACTION_LABELS.get(action, action)


def local(dt: datetime | None) -> str:
    """A stored (naive UTC) time shown in Asia/Shanghai."""
    if dt is None:
        return ""
    return dt.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _person(u: User | None) -> dict[str, Any]:
    if u is None:
        return {"id": None, "username": "", "name": "", "unit": ""}
    return {"id": u.id, "username": u.username, "name": u.display_name(), "unit": u.unit.name if u.unit else ""}


def build_record(session: Session, post: Post, witness: Any, viewer: User | None = None) -> dict[str, Any]:
    """Everything the accountability record shows, as plain data (also the JSON export)."""
    revisions = session.scalars(select(Revision).where(Revision.post_id == post.id)
                                .order_by(Revision.number)).all()
    rev_number = {r.id: r.number for r in revisions}
    approvals = session.scalars(select(Approval).where(Approval.post_id == post.id)
                                .order_by(Approval.at, Approval.id)).all()
    dispatches = session.scalars(select(Dispatch).where(Dispatch.post_id == post.id).order_by(Dispatch.id)).all()
    accounts = {a.id: a for a in session.scalars(select(Account).where(
        Account.id.in_({d.account_id for d in dispatches} or {-1})))}
    entries = post_entries(session, post.id)
    first_seq = int(entries[0].seq) if entries else 1
    result = audit.verify(session, witness, start=first_seq)
    witnessed = witness.read().heads if witness is not None else {}
    rev = post.current_revision
    return {
        "post": {"id": post.id, "title": rev.title if rev else "", "status": post.status,
                 "unit": {"code": post.unit.code, "name": post.unit.name},
                 "revision": {"number": rev.number, "hash": rev.hash} if rev else None,
                 "creator": _person(post.creator), "created_at": local(post.created_at),
                 "author_byline": rev.author if rev else ""},
        "revisions": [{"number": r.number, "hash": r.hash, "title": r.title, "by": _person(r.created_by),
                       "at": local(r.created_at)} for r in revisions],
        "reviews": [{"step": a.step + 1, "step_name": a.step_name, "reviewer": _person(a.reviewer),
                     "decision": a.decision, "decision_label": DECISION_LABELS.get(a.decision, a.decision),
                     "checks": [{"key": k, "label": CONFIRMATION_LABELS.get(k, k),
                                 "ok": bool((a.checks or {}).get(k))} for k in CONFIRMATION_KEYS],
                     "revision_hash": a.revision_hash, "revision_number": rev_number.get(a.revision_id),
                     "comment": a.comment or "", "at": local(a.at), "voided": bool(a.voided)}
                    for a in approvals],
        "dispatches": [{"id": d.id, "account": accounts[d.account_id].name if d.account_id in accounts else "",
                        "platform": accounts[d.account_id].platform if d.account_id in accounts else "",
                        "status": d.status, "url": d.url or "", "platform_ref": d.platform_ref or "",
                        "attempts": d.attempts, "error": d.error or "", "published_at": local(d.published_at),
                        "revision_number": rev_number.get(d.revision_id),
                        # A manual-publish account (视频号 …): the editor who published it by hand.
                        "platform_name": accounts[d.account_id].platform_name if d.account_id in accounts else "",
                        "published_by": _person(d.manual_by) if d.manual_by is not None else None}
                       for d in dispatches],
        "overrides": [_entry(e) for e in entries if "override" in e.action],
        "withdrawals": [_entry(e) for e in entries if "withdraw" in e.action],
        "entries": [dict(_entry(e), witnessed=witnessed.get(int(e.seq)) == e.hash) for e in entries],
        "verification": result.to_dict(),
        "generated_at": local(audit.utcnow()),
        "generated_by": _person(viewer),
    }


def _entry(e: Any) -> dict[str, Any]:
    return {"seq": int(e.seq), "at": local(e.at), "actor": e.actor_name or e.actor_username,
            "actor_username": e.actor_username, "actor_unit": e.actor_unit, "action": e.action,
            "action_label": action_label(e.action), "summary": e.summary, "hash": e.hash}


# -- PDF --------------------------------------------------------------------------------------
FONT = "STSong-Light"


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def render_pdf(record: dict[str, Any]) -> bytes:
    """The record as an A4 PDF (Chinese text in the built-in CID font STSong-Light)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=13, wordWrap="CJK")
    small = ParagraphStyle("small", parent=base, fontSize=7, leading=9)
    h1 = ParagraphStyle("h1", parent=base, fontSize=16, leading=22, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=base, fontSize=11.5, leading=16, spaceBefore=8, spaceAfter=3)

    def p(text: Any, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    def table(header: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
        data = [[p(h, small) for h in header]] + [[c if isinstance(c, Paragraph) else p(c, small) for c in r]
                                                   for r in rows]
        t = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        return t

    post, v = record["post"], record["verification"]
    story: list[Any] = [p("问责留痕记录", h1), p(post["title"], h2)]
    rev = post["revision"] or {"number": "", "hash": ""}
    story.append(table(["项目", "内容"], [
        ["稿件编号", post["id"]], ["单位", f"{post['unit']['name']}（{post['unit']['code']}）"],
        ["状态", post["status"]], ["撰稿人", f"{post['creator']['name']}（{post['creator']['username']}）"],
        ["创建时间", post["created_at"]], ["当前版本", f"第 {rev['number']} 版"],
        ["版本哈希", p(rev["hash"], small)],
    ], [35, 135]))
    story.append(p("审核记录（分级审核、先审后发）", h2))
    story.append(table(["环节", "审核人", "结论", "五关确认", "所审版本哈希", "意见", "时间"], [
        [f"{r['step']}. {r['step_name']}" + ("（已作废）" if r["voided"] else ""),
         f"{r['reviewer']['name']}（{r['reviewer']['username']}）", r["decision_label"],
         "、".join(c["label"] + ("√" if c["ok"] else "×") for c in r["checks"]),
         p(f"第 {r['revision_number']} 版 {r['revision_hash']}", small), r["comment"], r["at"]]
        for r in record["reviews"]] or [["—", "", "", "", "", "", ""]], [18, 24, 12, 32, 42, 20, 22]))
    story.append(p("发布记录", h2))
    story.append(table(["账号", "状态", "链接", "发布时间", "尝试次数"], [
        [f"{d['account']}（{d['platform']}）", d["status"], p(d["url"] or d["platform_ref"] or "—", small),
         d["published_at"], d["attempts"]] for d in record["dispatches"]] or [["—", "", "", "", ""]],
        [40, 20, 70, 25, 15]))
    if record["overrides"] or record["withdrawals"]:
        story.append(p("豁免与撤稿", h2))
        story.append(table(["序号", "时间", "操作人", "操作", "摘要"], [
            [e["seq"], e["at"], e["actor"], e["action_label"], e["summary"]]
            for e in record["overrides"] + record["withdrawals"]], [15, 30, 25, 25, 75]))
    story.append(p("审计日志（全部相关记录）", h2))
    story.append(table(["序号", "时间", "操作人", "操作", "摘要", "条目哈希", "见证"], [
        [e["seq"], e["at"], e["actor"], e["action_label"], e["summary"], p(e["hash"], small),
         "√" if e["witnessed"] else "—"] for e in record["entries"]], [12, 26, 20, 20, 44, 40, 8]))
    story.append(p("完整性校验", h2))
    if v["ok"]:
        verdict = (f"通过：自第 {v.get('start', 1)} 条至链头第 {v['head']['seq']} 条共 {v['entries']} 条记录，"
                   f"哈希链、见证文件与签名检查点一致。")
    else:
        verdict = f"未通过：第 {v.get('first_bad_seq')} 条 — {v.get('reason')}"
    w = v.get("witness") or {}
    cp = w.get("last_checkpoint")
    story.append(table(["项目", "内容"], [
        ["结论", verdict],
        ["链头", p(f"第 {v['head']['seq']} 条 {v['head']['hash']}" if v.get("head") else "—", small)],
        ["最近签名检查点", p(f"第 {cp['seq']} 条 {cp['hash']}（{cp['at']}）" if cp else "—", small)],
        ["签名公钥指纹", w.get("key_id") or "—"],
        ["生成时间", f"{record['generated_at']}（北京时间）"],
        ["生成人", record["generated_by"]["name"] or "—"],
    ], [35, 135]))
    story.append(Spacer(1, 6))
    story.append(p("说明：条目哈希为 SHA-256（域分隔、规范 JSON），每条记录链接前一条；"
                   "见证文件与 Ed25519 签名检查点保存在数据库之外。可用 docs/verify_export.py 独立复核导出数据。", small))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"问责留痕 {post['id']}", author="政务新媒体发布中心")
    doc.build(story)
    return buf.getvalue()
