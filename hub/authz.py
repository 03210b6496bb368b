"""Who may do what, as one table: endpoint -> rule (role x the object's unit relative to the user's).

Every route in ``app.url_map`` has a row in :data:`ENDPOINTS` (tests/security/test_route_matrix.py
walks them all with every role from every relative unit and fails on a route without a row).

A rule says

* ``who``: the roles that may ever do this (``PUBLIC``: no sign-in needed; ``SIGNED_IN``: any
  signed-in user, whatever their roles);
* ``obj``: the kind of object named in the URL (``post``, ``account``, ``unit``, ...) or ``None``;
* ``where``: for an object, at which relative units (``SAME``, ``BELOW``, ``ABOVE``, ``OTHER``) the
  roles in ``who`` may act.

Whether the object can be *seen* at all is :data:`SEES` (object kind -> role -> relations): an object the
caller may not see is 404, before any 403 (docs/design.md §8: 401, 404, 403, 409, 400/422). A caller holding
none of the roles in ``who`` is 403 before the body is looked at (:func:`gate`, called by the API and web
faces before a view runs, for rules without an object; the services keep the per-object checks).

Relations are from the user's point of view: ``BELOW`` is an object of a unit under the user's unit
(the user oversees it), ``ABOVE`` one of an ancestor unit, ``OTHER`` one of another branch.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import Forbidden

ROLES = ("editor", "reviewer", "admin", "supervisor")
SAME, BELOW, ABOVE, OTHER = "same", "below", "above", "other"
RELATIONS = (SAME, BELOW, ABOVE, OTHER)
PUBLIC = frozenset({"public"})
SIGNED_IN = frozenset(ROLES)

_ALL = frozenset(RELATIONS)
_OWN = frozenset({SAME})
_SUBTREE = frozenset({SAME, BELOW})
_UP = frozenset({SAME, ABOVE})
_LINE = frozenset({SAME, BELOW, ABOVE})
_STAFF = frozenset({"editor", "reviewer"})
_OVER = frozenset({"admin", "supervisor"})

# Which relative units' objects each role can see (else 404).
SEES: dict[str, dict[str, frozenset[str]]] = {
    "post": {"editor": _OWN, "reviewer": _OWN, "admin": _SUBTREE, "supervisor": _SUBTREE},
    "account": {"editor": _OWN, "reviewer": _OWN, "admin": _SUBTREE, "supervisor": _SUBTREE},
    "unit": {"editor": _UP, "reviewer": _UP, "admin": _LINE, "supervisor": _LINE},
    "unit_pause": {"editor": _OWN, "reviewer": _OWN, "admin": _SUBTREE, "supervisor": _SUBTREE},
}


@dataclass(frozen=True)
class Rule:
    action: str
    who: frozenset[str]
    obj: str | None = None
    where: frozenset[str] = _ALL
    deny: tuple[str, str] = ("forbidden_role", "您的角色无权进行此操作")  # (code, message) of the gate's 403

    def public(self) -> bool:
        return self.who == PUBLIC

    def expected(self, role: str | None, relation: str = SAME) -> int | None:
        """The status a caller with ``role`` gets from an object at ``relation``: 401, 404 or 403;
        None when the table lets them through (the answer is then the view's: 2xx, 409, 400/422)."""
        if self.public():
            return None
        if role is None:
            return 401
        if self.obj is not None and relation not in SEES.get(self.obj, {}).get(role, _ALL):
            return 404
        if role not in self.who or (self.obj is not None and relation not in self.where):
            return 403
        return None


def _r(action: str, who: frozenset[str] | set[str], obj: str | None = None,
       where: frozenset[str] = _ALL, deny: tuple[str, str] | None = None) -> Rule:
    return Rule(action, frozenset(who), obj, where, *([deny] if deny else []))


_E, _RV, _A, _S = {"editor"}, {"reviewer"}, {"admin"}, {"supervisor"}
_POSTS = {
    "view": _r("post.view", SIGNED_IN, "post"),
    "edit": _r("post.edit", _E | _RV, "post", _OWN),
    "submit": _r("post.submit", _E, "post", _OWN),
    "decide": _r("post.decide", _RV, "post"),  # the chain decides who acts; 403 comes from it
    "withdraw": _r("post.withdraw", _RV | _A, "post"),
    "schedule": _r("post.schedule", _E | _A, "post"),
}

_AUDITOR = ("not_auditor", "只有管理员和主管单位可以查看审计日志")
_WITNESS = ("not_witness", "只有见证用户可以提交检查点；见证用户不能做其他操作")
_INSPECTOR = ("not_admin", "只有管理员和主管单位可以查看巡检结果")
_INSPECT = ("not_admin", "只有管理员可以发起巡检")
_LEXICON_READ = ("not_admin", "只有管理员和主管单位可以查看词库")
_LEXICON_EDIT = ("not_admin", "只有管理员可以修改词库")

_MONITOR = ("not_supervisor", "只有主管单位（监管）或本单位管理员可以查看监测")
_RECT_READ = ("forbidden", "只有主管单位或本单位管理员可以查看整改")
_ANNUAL_READ = ("forbidden", "只有主管单位或本单位管理员可以查看年度报表")
_QUARTERLY = ("not_supervisor", "只有主管单位可以开展巡检")
_CHANNELS = ("not_admin", "只有本单位或上级单位的管理员可以配置通知渠道")
ENDPOINTS: dict[str, Rule] = {
    # -- notifications (通知) ------------------------------------------------------------------
    "api.notify.notifications": _r("notification.view", SIGNED_IN),
    "api.notify.notification_read": _r("notification.read", SIGNED_IN),
    "api.notify.get_unit_channels": _r("notify_channels.view", _A, "unit", _SUBTREE, deny=_CHANNELS),
    "api.notify.put_unit_channels": _r("notify_channels.edit", _A, "unit", _SUBTREE, deny=_CHANNELS),
    "web.notify.inbox_page": _r("notification.view", SIGNED_IN),
    "web.notify.open_item": _r("notification.read", SIGNED_IN),
    "web.notify.read_all": _r("notification.read", SIGNED_IN),
    "web.notify.settings_page": _r("notification.settings", SIGNED_IN),
    "web.notify.unit_channels_page": _r("notify_channels.edit", SIGNED_IN, "unit"),
    # -- oversight (监管) ---------------------------------------------------------------------
    "api.oversight.monitor": _r("monitor.view", _A | _S, deny=_MONITOR),
    "api.oversight.notice": _r("notice.create", _S, deny=("not_supervisor", "只有主管单位可以登记通报")),
    "api.oversight.rectifications": _r("rectification.view", _A | _S, deny=_RECT_READ),
    "api.oversight.report": _r("rectification.report", _A, "rectification"),
    "api.oversight.accept": _r("rectification.decide", _S, "rectification"),
    "api.oversight.return_": _r("rectification.decide", _S, "rectification"),
    "api.oversight.annual_report": _r("annual.view", _A | _S, deny=_ANNUAL_READ),
    "api.oversight.annual_published": _r("annual.publish", _A, deny=(
        "not_admin", "只有本单位管理员可以登记年度报表发布")),
    "api.oversight.start_inspection": _r("quarterly.run", _S, deny=_QUARTERLY),
    "api.oversight.get_inspection": _r("quarterly.view", _A | _S, "quarterly_inspection"),
    "api.oversight.record_inspection_item": _r("quarterly.record", _S, "quarterly_inspection"),
    "api.oversight.publish_inspection": _r("quarterly.publish", _S, "quarterly_inspection"),
    "web.oversight.monitor_page": _r("monitor.view", SIGNED_IN),  # others get 404: no 监测台 for them
    "web.oversight.monitor_export": _r("monitor.view", SIGNED_IN),
    "web.oversight.public_inspection": _r("quarterly.public", PUBLIC),
    # the staff pages of inspections and rectifications: others than supervisors and admins get 404
    "web.oversight.inspections_page": _r("quarterly.view", SIGNED_IN),
    "web.oversight.inspection_start": _r("quarterly.run", SIGNED_IN),
    "web.oversight.inspection_page": _r("quarterly.view", SIGNED_IN),
    "web.oversight.inspection_item": _r("quarterly.record", SIGNED_IN),
    "web.oversight.inspection_publish": _r("quarterly.publish", SIGNED_IN),
    "web.oversight.rectifications_page": _r("rectification.view", SIGNED_IN),
    "web.oversight.notice_record": _r("notice.create", SIGNED_IN),
    "web.oversight.rectification_report": _r("rectification.report", SIGNED_IN),
    "web.oversight.rectification_accept": _r("rectification.decide", SIGNED_IN),
    "web.oversight.rectification_return": _r("rectification.decide", SIGNED_IN),
    # -- 政民互动 (interaction): the services scope messages, answers and 问答库 entries themselves ----
    "api.interaction.list_messages": _r("message.list", SIGNED_IN),
    "api.interaction.create_message": _r("message.record", SIGNED_IN),
    "api.interaction.get_message": _r("message.view", SIGNED_IN, "message"),
    "api.interaction.assign_message": _r("message.handle", SIGNED_IN, "message"),
    "api.interaction.forward_message": _r("message.handle", SIGNED_IN, "message"),
    "api.interaction.close_message": _r("message.handle", SIGNED_IN, "message"),
    "api.interaction.answer_message": _r("message.handle", SIGNED_IN, "message"),
    "api.interaction.get_answer": _r("answer.view", SIGNED_IN, "answer"),
    "api.interaction.edit_answer": _r("message.handle", SIGNED_IN, "answer"),
    "api.interaction.approve_answer": _r("answer.decide", SIGNED_IN, "answer"),
    "api.interaction.reject_answer": _r("answer.decide", SIGNED_IN, "answer"),
    "api.interaction.message_stats": _r("message.stats", SIGNED_IN),
    "api.interaction.list_qa": _r("qa.list", SIGNED_IN),
    "api.interaction.create_qa": _r("qa.create", SIGNED_IN),
    "api.interaction.get_qa": _r("qa.view", SIGNED_IN, "qa_entry"),
    "api.interaction.approve_qa": _r("qa.decide", SIGNED_IN, "qa_entry"),
    "api.interaction.reject_qa": _r("qa.decide", SIGNED_IN, "qa_entry"),
    "api.interaction.public_messages": _r("message.public", PUBLIC),
    "web.interaction.public_messages": _r("message.public", PUBLIC),
    "web.interaction.message_form": _r("message.public_form", PUBLIC),
    "web.interaction.message_form_post": _r("message.public_form", PUBLIC),
    "web.interaction.inbox_page": _r("message.list", SIGNED_IN),
    "web.interaction.message_page": _r("message.view", SIGNED_IN, "message"),
    "web.interaction.message_assign": _r("message.handle", SIGNED_IN, "message"),
    "web.interaction.message_forward": _r("message.handle", SIGNED_IN, "message"),
    "web.interaction.message_close": _r("message.handle", SIGNED_IN, "message"),
    "web.interaction.message_answer": _r("message.handle", SIGNED_IN, "message"),
    "web.interaction.message_approve": _r("answer.decide", SIGNED_IN, "message"),
    "web.interaction.message_reject": _r("answer.decide", SIGNED_IN, "message"),
    "web.interaction.qa_page": _r("qa.list", SIGNED_IN),
    "web.interaction.qa_create": _r("qa.create", SIGNED_IN),
    "web.interaction.qa_entry": _r("qa.view", SIGNED_IN, "qa_entry"),
    "web.interaction.qa_approve": _r("qa.decide", SIGNED_IN, "qa_entry"),
    "web.interaction.qa_reject": _r("qa.decide", SIGNED_IN, "qa_entry"),
    # -- content frames (the sandboxed body on the post and review pages) ----------------------
    "web.posts.post_frame": _POSTS["view"],
    "web.approval.review_frame": _POSTS["view"],
    # -- public -----------------------------------------------------------------------------
    "static": _r("static", PUBLIC),
    "api.openapi": _r("api.openapi", PUBLIC),
    "web.login": _r("auth.login", PUBLIC),
    "web.set_language": _r("ui.language", PUBLIC),
    "web.dispatch.account_feed": _r("feed.read", PUBLIC),
    "web.dispatch.wechat_callback": _r("wechat.callback", PUBLIC),
    "web.logout": _r("auth.logout", SIGNED_IN),
    "web.dashboard": _r("ui.dashboard", SIGNED_IN),
    # -- posts ------------------------------------------------------------------------------
    "api.posts.create_post": _r("post.create", _E, deny=("not_editor", "只有编辑可以创建稿件")),
    "api.posts.list_posts": _r("post.list", SIGNED_IN),
    "api.posts.get_post": _POSTS["view"],
    "api.posts.calendar": _r("post.calendar", SIGNED_IN),
    "api.posts.post_history": _POSTS["view"],
    "api.posts.patch_post": _POSTS["edit"],
    "api.posts.submit_post": _POSTS["submit"],
    "api.posts.post_validity": _POSTS["edit"],
    "api.posts.approve_post": _POSTS["decide"],
    "api.posts.reject_post": _POSTS["decide"],
    "api.posts.upload_media": _r("media.upload", _E, deny=("not_editor", "只有编辑可以上传正文图片")),
    "web.posts.posts": _r("post.list", SIGNED_IN),
    "web.posts.calendar_page": _r("post.calendar", SIGNED_IN),
    "web.posts.new_post": _r("post.create", SIGNED_IN),
    "web.posts.post_page": _POSTS["view"],
    "web.posts.post_status": _POSTS["view"],
    "web.posts.edit_post": _r("post.edit_page", SIGNED_IN, "post"),  # the page opens; saving is checked
    "web.posts.submit": _POSTS["submit"],
    "web.posts.validity": _POSTS["edit"],
    "web.posts.approve": _POSTS["decide"],
    "web.posts.reject": _POSTS["decide"],
    "web.posts.platform_preview": _r("post.preview", SIGNED_IN),
    "web.posts.upload_body_image": _r("media.upload", SIGNED_IN),
    "web.posts.media": _r("media.view", SIGNED_IN),
    "web.posts.body_image": _r("media.view", SIGNED_IN),
    # -- approval ---------------------------------------------------------------------------
    "api.approval.add_comment": _POSTS["view"],
    "api.approval.list_comments": _POSTS["view"],
    "api.approval.post_diff": _POSTS["view"],
    "api.approval.schedule_post": _POSTS["schedule"],
    "api.approval.cancel_schedule": _POSTS["schedule"],
    "api.approval.withdraw_post": _POSTS["withdraw"],
    "api.approval.review_queue": _r("review.queue", SIGNED_IN),
    "api.approval.get_unit_chain": _r("chain.view", SIGNED_IN, "unit"),
    "api.approval.put_unit_chain": _r("chain.edit", _A, "unit", _SUBTREE),
    "api.approval.get_pause": _r("unit.pause_view", SIGNED_IN, "unit_pause"),
    "api.approval.pause_unit": _r("unit.pause", _A | _S, "unit_pause", _SUBTREE),
    "api.approval.resume_unit": _r("unit.pause", _A | _S, "unit_pause", _SUBTREE),
    "web.approval.review_queue": _r("review.queue", SIGNED_IN),
    "web.approval.review_post": _POSTS["view"],
    "web.approval.review_approve": _POSTS["decide"],
    "web.approval.review_reject": _POSTS["decide"],
    "web.approval.post_comment": _POSTS["view"],
    "web.approval.post_schedule": _POSTS["schedule"],
    "web.approval.post_schedule_cancel": _POSTS["schedule"],
    "web.approval.post_withdraw": _POSTS["withdraw"],
    "web.approval.chain_units": _r("chain.view", SIGNED_IN),
    "web.approval.chain_config": _r("chain.edit", SIGNED_IN, "unit"),
    "web.approval.unit_pause": _r("unit.pause", _A | _S, "unit", _SUBTREE),
    "web.approval.unit_resume": _r("unit.pause", _A | _S, "unit", _SUBTREE),
    # -- accounts ---------------------------------------------------------------------------
    "api.accounts.create_account": _r("account.create", _A, deny=("not_admin", "只有单位管理员可以开设账号")),
    "api.accounts.list_accounts": _r("account.list", SIGNED_IN),
    "api.accounts.account_register": _r("account.register", _A | _S, deny=(
        "not_register_viewer", "只有管理员和主管单位可以查看账号备案登记表")),
    "api.accounts.overdue_credentials": _r("account.overdue", SIGNED_IN),
    "api.accounts.vault_status": _r("vault.status", _A, deny=("not_admin", "只有管理员可以查看保险库状态")),
    "api.accounts.get_account": _r("account.view", SIGNED_IN, "account"),
    "api.accounts.list_filings": _r("account.filings", _A | _S, "account"),
    "api.accounts.patch_account": _r("account.edit", _A, "account", _SUBTREE),
    "api.accounts.put_credentials": _r("account.credentials", _A, "account", _SUBTREE),
    "api.accounts.verify_credentials": _r("account.credentials", _A, "account", _SUBTREE),
    "api.accounts.reveal_credential": _r("account.reveal", _A, "account", _SUBTREE),
    "api.accounts.rotate_credential": _r("account.credentials", _A, "account", _SUBTREE),
    "api.accounts.rollback_credential": _r("account.credentials", _A, "account", _SUBTREE),
    "api.accounts.approve_filing": _r("account.filing", _S, "account", _SUBTREE),
    "api.accounts.reject_filing": _r("account.filing", _S, "account", _SUBTREE),
    "api.accounts.resubmit_filing": _r("account.edit", _A, "account", _SUBTREE),
    "api.accounts.suspend_account": _r("account.suspend", _A | _S, "account", _SUBTREE),
    "api.accounts.resume_account": _r("account.suspend", _A | _S, "account", _SUBTREE),
    "api.accounts.close_account": _r("account.close", _A, "account", _SUBTREE),
    "web.accounts.accounts": _r("account.list", SIGNED_IN),
    "web.accounts.account_new": _r("account.create", SIGNED_IN),
    "web.accounts.account_register": _r("account.register", SIGNED_IN),
    "web.accounts.account_register_export": _r("account.register", SIGNED_IN),
    "web.accounts.account_filings": _r("account.filing", SIGNED_IN),
    "web.accounts.account_overdue": _r("account.overdue", SIGNED_IN),
    "web.accounts.account_page": _r("account.view", SIGNED_IN, "account"),
    "web.accounts.account_edit": _r("account.edit", SIGNED_IN, "account"),
    "web.accounts.account_credentials_set": _r("account.credentials", SIGNED_IN, "account"),
    "web.accounts.account_credential_reveal": _r("account.credentials", SIGNED_IN, "account"),
    "web.accounts.account_credential_rotate": _r("account.credentials", SIGNED_IN, "account"),
    "web.accounts.account_credential_rollback": _r("account.credentials", SIGNED_IN, "account"),
    "web.accounts.account_verify": _r("account.credentials", SIGNED_IN, "account"),
    "web.accounts.account_oauth_start": _r("account.credentials", SIGNED_IN, "account"),
    "web.accounts.account_oauth_callback": _r("account.credentials", SIGNED_IN),
    "web.accounts.account_filing_approve": _r("account.filing", SIGNED_IN, "account"),
    "web.accounts.account_filing_reject": _r("account.filing", SIGNED_IN, "account"),
    "web.accounts.account_filing_resubmit": _r("account.edit", SIGNED_IN, "account"),
    "web.accounts.account_suspend": _r("account.suspend", SIGNED_IN, "account"),
    "web.accounts.account_resume": _r("account.suspend", SIGNED_IN, "account"),
    "web.accounts.account_close": _r("account.close", SIGNED_IN, "account"),
    # -- dispatch ---------------------------------------------------------------------------
    "api.dispatch.get_dispatch": _r("dispatch.view", SIGNED_IN, "dispatch"),
    "api.dispatch.retry_dispatch": _r("dispatch.retry", SIGNED_IN, "dispatch"),
    "api.dispatch.record_manual": _r("dispatch.manual", SIGNED_IN, "dispatch"),
    "api.dispatch.list_platforms": _r("platform.list", SIGNED_IN),
    "web.dispatch.dispatch_attention": _r("dispatch.list", SIGNED_IN),
    "web.dispatch.dispatch_page": _r("dispatch.view", SIGNED_IN, "dispatch"),
    "web.dispatch.dispatch_retry": _r("dispatch.retry", SIGNED_IN, "dispatch"),
    "web.dispatch.dispatch_manual": _r("dispatch.manual", SIGNED_IN, "dispatch"),
    # -- checks -----------------------------------------------------------------------------
    "api.checks.checks": _r("checks.run", SIGNED_IN),
    "api.checks.override_finding": _r("finding.override", _RV | _A, "finding"),
    "api.checks.lexicon": _r("lexicon.view", _A | _S, deny=_LEXICON_READ),
    "api.checks.lexicon_export": _r("lexicon.view", _A | _S, deny=_LEXICON_READ),
    "api.checks.lexicon_add": _r("lexicon.edit", _A, deny=_LEXICON_EDIT),
    "api.checks.lexicon_import": _r("lexicon.edit", _A, deny=_LEXICON_EDIT),
    "api.checks.lexicon_disable": _r("lexicon.edit", _A, "lexicon_entry"),
    "api.checks.lexicon_disable_rule": _r("lexicon.edit", _A, deny=_LEXICON_EDIT),
    "api.checks.lexicon_lift": _r("lexicon.edit", _A, "lexicon_disable"),
    "api.checks.inspections": _r("inspection.view", _A | _S, deny=_INSPECTOR),
    "api.checks.inspection": _r("inspection.view", _A | _S, "inspection"),
    "api.checks.start_inspection": _r("inspection.run", _A, deny=_INSPECT),
    "api.checks.inspection_alerts": _r("inspection.view", SIGNED_IN),
    "api.checks.ack_inspection_alert": _r("inspection.ack", _A | _S, "inspection_alert"),
    "api.checks.legacy_inspection_alerts": _r("inspection.view", SIGNED_IN),
    "api.checks.legacy_ack_inspection_alert": _r("inspection.ack", _A | _S, "inspection_alert"),
    "web.checks.checks_preview": _r("checks.run", SIGNED_IN),
    "web.checks.finding_override": _POSTS["view"],
    "web.checks.inspections": _r("inspection.view", SIGNED_IN),
    "web.checks.inspection": _r("inspection.view", SIGNED_IN, "inspection"),
    "web.checks.inspection_start": _r("inspection.run", SIGNED_IN),
    "web.checks.inspection_ack": _r("inspection.ack", SIGNED_IN, "inspection_alert"),
    "web.checks.lexicon_page": _r("lexicon.view", SIGNED_IN),
    "web.checks.lexicon_export": _r("lexicon.view", SIGNED_IN),
    "web.checks.lexicon_add": _r("lexicon.edit", SIGNED_IN),
    "web.checks.lexicon_import": _r("lexicon.edit", SIGNED_IN),
    "web.checks.lexicon_disable": _r("lexicon.edit", SIGNED_IN, "lexicon_entry"),
    "web.checks.lexicon_disable_rule": _r("lexicon.edit", SIGNED_IN),
    "web.checks.lexicon_lift": _r("lexicon.edit", SIGNED_IN, "lexicon_disable"),
    # -- people and sign-in (the pages answer 404 to anyone but an admin) ------------------------
    "api.org.create_user": _r("user.create", _A, deny=("not_admin", "只有单位管理员可以创建用户")),
    "api.org.disable_user": _r("user.disable", _A, deny=("not_admin", "只有单位管理员可以停用用户")),
    "web.org.people_page": _r("user.list", SIGNED_IN),
    "web.org.person_create": _r("user.create", SIGNED_IN),
    "web.org.person_page": _r("user.view", SIGNED_IN),
    "web.org.person_save": _r("user.edit", SIGNED_IN),
    "web.org.person_disable": _r("user.disable", SIGNED_IN),
    "web.org.person_enable": _r("user.disable", SIGNED_IN),
    "web.org.person_reset_password": _r("user.password_reset", SIGNED_IN),
    "web.org.person_reset_totp": _r("user.totp_reset", SIGNED_IN),
    "web.org.setup_page": _r("auth.setup_link", PUBLIC),
    "web.org.login_code": _r("auth.login_code", PUBLIC),
    "web.org.security_page": _r("auth.own_totp", SIGNED_IN),
    "web.org.security_confirm": _r("auth.own_totp", SIGNED_IN),
    "web.org.security_new_codes": _r("auth.own_totp", SIGNED_IN),
    "web.org.vault_page": _r("vault.status", SIGNED_IN),
    # -- audit ------------------------------------------------------------------------------
    "api.audit.audit_list": _r("audit.read", _A | _S, deny=_AUDITOR),
    "api.audit.audit_verify": _r("audit.read", _A | _S, deny=_AUDITOR),
    "api.audit.witness_receive": _r("witness.receive", {"witness"}, deny=_WITNESS),
    "api.audit.witness_list": _r("witness.read", {"witness"} | _S, deny=_WITNESS),
    "web.audit.audit_page": _r("audit.read", SIGNED_IN),
    "web.audit.accountability_page": _POSTS["view"],
    "web.audit.accountability_json": _POSTS["view"],
    "web.audit.accountability_pdf": _POSTS["view"],
}


#: The only endpoints a user holding just the "witness" role may reach (hub.api.base).
WITNESS_ENDPOINTS = frozenset({"api.audit.witness_receive", "api.audit.witness_list"})


class MissingRule(LookupError):
    pass


def rule(endpoint: str | None) -> Rule:
    try:
        return ENDPOINTS[endpoint or ""]
    except KeyError:
        raise MissingRule(f"endpoint {endpoint!r} has no row in hub/authz.py ENDPOINTS") from None


def require_role(endpoint: str, roles: set[str]) -> None:
    """403 unless the caller holds one of the roles the endpoint's row names (for services that are
    also reached without a request, e.g. from the CLI, and must refuse before reading the body)."""
    r = ENDPOINTS[endpoint]
    if not r.public() and not roles & r.who:
        raise Forbidden(r.deny[1], code=r.deny[0])


def gate(endpoint: str | None, roles: set[str]) -> None:
    """403 before the body is read when the caller holds none of the roles the endpoint needs.

    Only for rules without an object: for an object, whether the caller may see it (404) comes first
    and is the service's to decide. An endpoint without a row passes (the route test catches it).
    """
    r = ENDPOINTS.get(endpoint or "")
    if r is None or r.public() or r.obj is not None or r.who == SIGNED_IN:
        return
    if not roles & r.who:
        raise Forbidden(r.deny[1], code=r.deny[0])
