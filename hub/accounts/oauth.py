"""OAuth authorisation and the token lifecycle of the accounts whose platform acts for a user (抖音, 快手).

Authorising: an admin of the account's unit presses 授权 on the account page; the hub signs a
``state`` (account, user, a nonce; valid 15 minutes) and sends the browser to the platform's
authorisation page (``adapter.authorize_url``). The platform redirects back to
``/accounts/oauth/callback`` with ``code`` and ``state``; the hub checks the state (same user, still an
admin), exchanges the code (``adapter.exchange_code``) and stores ``open_id``, the tokens and their
expiry times in the vault as credentials (audited by field name only; never a value in a log, Redis or
a page). Re-authorising closes the account's open token alert.

Lifecycle (``check_tokens``, run daily by the worker's sweeper, hub/accounts/jobs.py): per authorised
account, the access token is refreshed (every day: the answer also says how long the refresh token has
left), the refresh token is renewed
(抖音 ``renew_refresh_token``, at most 5 times per authorisation) when it has less than 7 days left and
renewals remain; when the refresh token has less than 14 days left and cannot be renewed (or the
platform refused the refresh), a ``token`` alert (a :class:`MonitorAlert` of kind ``token``) is raised
for the account's admins: it shows on the 监测台 and the account page as 需重新授权 until a new
authorisation closes it.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.base import PlatformError
from adapters.registry import UnknownPlatform, get_adapter
from adapters.video_oauth import OAuthVideoAdapter
from hub import audit
from hub.accounts.service import decrypt_credentials, get_vault, set_credentials
from hub.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from hub.models import Account, MonitorAlert, RoleGrant, User, utcnow
from hub.oversight import monitor
from hub.permissions import is_admin_of

log = logging.getLogger(__name__)

STATE_SALT = "hub-accounts-oauth-state"
STATE_MAX_AGE = 900
RENEW_MARGIN = timedelta(days=7)
ALERT_MARGIN = timedelta(days=14)
KIND = "token"
RENEWALS_EXHAUSTED = 10020


def is_oauth(account: Account) -> bool:
    """Whether the account's platform is authorised through OAuth by the hub."""
    try:
        cls = get_adapter(account.platform)
    except UnknownPlatform:
        return False
    return issubclass(cls, OAuthVideoAdapter)


def _adapter(account: Account, creds: dict[str, str]) -> OAuthVideoAdapter:
    cls = get_adapter(account.platform)
    if not issubclass(cls, OAuthVideoAdapter):
        raise Unprocessable("该平台不通过授权获取令牌", code="not_oauth")
    return cls(account.api_base, creds, None)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=STATE_SALT)


def _require_admin(session: Session, user: User, account: Account) -> None:
    if not is_admin_of(session, user, account.unit_id):
        raise Forbidden("只有该账号所属单位的管理员可以授权", code="not_admin")
    if account.status == "closed":
        raise Conflict("账号已关闭，不能授权", code="account_closed")


def start(session: Session, user: User, account: Account, redirect_uri: str) -> str:
    """The platform's authorisation URL for ``account``, with a signed state (audited)."""
    _require_admin(session, user, account)
    creds = decrypt_credentials(account, get_vault())
    adapter = _adapter(account, creds)
    if not creds.get("client_key") or not creds.get("client_secret"):
        raise Unprocessable(f"请先在凭据中设置{adapter.label}应用的 client_key 和 client_secret", code="no_client")
    state = _serializer().dumps({"a": account.id, "u": user.id, "n": secrets.token_hex(8)})
    audit.record(session, "account.oauth_start", object_type="account", object_id=account.id, unit=account.unit,
                 summary=f"发起账号「{account.name}」的{adapter.label}授权", details={"platform": account.platform})
    return adapter.authorize_url(redirect_uri, state)


def account_of_state(session: Session, user: User, state: str) -> Account:
    """The account a signed state was issued for, to ``user`` (BadRequest when forged or too old)."""
    try:
        data = _serializer().loads(state or "", max_age=STATE_MAX_AGE)
    except SignatureExpired:
        raise BadRequest("授权请求已超过 15 分钟，请回到账号页重新点击“授权”", code="state_expired") from None
    except BadSignature:
        raise BadRequest("授权回调的 state 无效", code="bad_state") from None
    if not isinstance(data, dict) or data.get("u") != user.id:
        raise Forbidden("该授权请求不是由当前用户发起的", code="state_user")
    account = session.get(Account, data.get("a"))
    if account is None:
        raise NotFound("账号不存在", code="not_found")
    return account


def finish(session: Session, user: User, account: Account, code: str, redirect_uri: str) -> list[str]:
    """Exchange the authorisation code and store what the platform answered (audited; closes the alert)."""
    _require_admin(session, user, account)
    if not code:
        raise BadRequest("平台没有返回授权码（可能未同意授权）", code="no_code")
    adapter = _adapter(account, decrypt_credentials(account, get_vault()))
    try:
        tokens = adapter.exchange_code(code, redirect_uri)
    except PlatformError as exc:
        raise Unprocessable(f"{adapter.label}授权失败：{exc.message}", code="oauth_failed") from None
    written = set_credentials(session, user, account, tokens)
    audit.record(session, "account.oauth_authorised", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"账号「{account.name}」已完成{adapter.label}授权",
                 details={"platform": account.platform, "credential_fields": written})
    close_alert(session, account, "已重新授权")
    return written


# -- alerts ---------------------------------------------------------------------------------
def open_alert(session: Session, account: Account) -> MonitorAlert | None:
    return session.scalars(select(MonitorAlert).where(
        MonitorAlert.account_id == account.id, MonitorAlert.kind == KIND,
        MonitorAlert.closed_at.is_(None))).first()


def _admins(session: Session, account: Account) -> list[str]:
    return sorted(session.scalars(select(User.username).join(RoleGrant, RoleGrant.user_id == User.id).where(
        RoleGrant.role == "admin", RoleGrant.unit_id == account.unit_id)).all())


def raise_alert(session: Session, account: Account, days_left: int, reason: str) -> MonitorAlert | None:
    """Raise the account's token alert (once; its days are kept current). None if already open."""
    alert = open_alert(session, account)
    if alert is not None:
        alert.days = days_left
        return None
    alert = MonitorAlert(account_id=account.id, unit_id=account.unit_id, kind=KIND, level="warn", days=days_left,
                         since=monitor.today())
    session.add(alert)
    session.flush()
    admins = _admins(session, account)
    audit.record(session, "account.token_alert", object_type="account", object_id=account.id, unit=account.unit,
                 summary=f"账号「{account.name}」需重新授权：{reason}",
                 details={"alert_id": alert.id, "days_left": days_left, "reason": reason, "admins": admins})
    log.warning("account %s needs a new authorisation: admins %s alerted", account.id, ", ".join(admins) or "(none)")
    return alert


def close_alert(session: Session, account: Account, why: str) -> bool:
    alert = open_alert(session, account)
    if alert is None:
        return False
    alert.closed_at = utcnow()
    audit.record(session, "account.token_alert_close", object_type="account", object_id=account.id,
                 unit=account.unit, summary=f"账号「{account.name}」的授权预警关闭：{why}",
                 details={"alert_id": alert.id})
    return True


def authorize_origin(account: Account) -> str:
    """The origin of the platform's authorisation page (where 授权 sends the browser), or "" if none."""
    from urllib.parse import urlsplit

    if not is_oauth(account):
        return ""
    try:
        url = _adapter(account, {}).authorize_url("", "")
    except Exception:  # noqa: BLE001  (an account without an API base: the 授权 button fails with its own message)
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def is_authorised(account: Account) -> bool:
    """Whether the vault holds an authorisation for the account (open_id and a refresh token; no value read)."""
    fields = {c.field for c in account.credentials}
    return {"open_id", "refresh_token"} <= fields


def reauthorisation(session: Session, account: Account) -> dict[str, Any] | None:
    """What the account page says about the authorisation: the open alert (days left, since), or None."""
    alert = open_alert(session, account)
    return {"days_left": alert.days, "since": alert.since} if alert is not None else None


# -- the daily lifecycle ------------------------------------------------------------------
def _days(until: datetime | None, now: datetime) -> int:
    return max(0, (until - now).days) if until else 0


def check_account(session: Session, account: Account, now: datetime | None = None) -> str:
    """Refresh, renew and alert for one account; returns what happened (for the log and the tests)."""
    now = now or datetime.now(UTC)
    adapter = _adapter(account, decrypt_credentials(account, get_vault()))
    st = adapter.token_state()
    if not st.authorised:
        return "not_authorised"
    updates: dict[str, str] = {}
    problem = ""
    try:
        # Every day: a live access token is extended (抖音) or replaced (快手), and the platform says how long
        # the refresh token has left — which is how the hub learns of a shortened authorisation.
        updates.update(adapter.refresh_access())
        adapter.credentials.update(updates)
        st = adapter.token_state()
        if adapter.renewable and st.refresh_expires is not None and st.refresh_expires - now < RENEW_MARGIN \
                and (st.renewals_left or 0) > 0:
            try:
                renewed = adapter.renew_refresh()
            except PlatformError as exc:
                if exc.code != RENEWALS_EXHAUSTED:
                    raise
                renewed = {"refresh_renewals_left": "0"}
            updates.update(renewed)
            adapter.credentials.update(renewed)
    except PlatformError as exc:
        if exc.retryable or exc.ambiguous or exc.quota:
            if updates:
                set_credentials(session, None, account, updates)
            return "retry_later"
        problem = exc.message
    if updates:
        set_credentials(session, None, account, updates)
    st = adapter.token_state()
    can_renew = adapter.renewable and (st.renewals_left or 0) > 0
    ending = st.refresh_expires is not None and st.refresh_expires - now < ALERT_MARGIN and not can_renew
    if problem or ending:
        days = _days(st.refresh_expires, now)
        until = (st.refresh_expires + timedelta(hours=8)).strftime("%Y-%m-%d") if st.refresh_expires else ""
        reason = problem or (f"{adapter.label}授权将于 {until} 失效（还剩 {days} 天）"
                             + ("，刷新令牌的续期次数已用完" if adapter.renewable else "")
                             + "，请管理员在账号页点击“授权”重新授权")
        return "alerted" if raise_alert(session, account, days, reason) is not None else "alert_open"
    close_alert(session, account, "授权有效")
    return "refreshed" if updates else "ok"
