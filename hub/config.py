"""Configuration: one typed settings object for every ``HUB_*`` variable.

Every process of one instance (web, workers, CLI, demo) reads the same ``HUB_*``
variables, so they agree on the database, Redis, secret key and vault keys. With none
set you get the embedded default. :class:`Settings` declares each variable once — its
type, its default and what it means — and README.md's configuration table is checked
against it (tests/test_settings.py).

Two kinds of use:

* ``load_config(overrides)`` builds the Flask config dict once, when ``create_app`` runs,
  from the variables in :data:`FLASK_KEYS` (``overrides`` win);
* the tunables read while the hub runs (dispatch timings, the daily re-scan, audit
  checkpoints, rate limits) are read when used: ``get_settings(app.config).field`` — a
  ``HUB_*`` key of the Flask config wins, else the environment *as it is now*.

A value that does not parse is a :class:`ConfigError` naming the variable
(``HUB_TRUSTED_PROXIES must be a whole number (got 'two')``). An empty variable counts
as unset.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from datetime import time
from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AllowInfNan, BeforeValidator, Field, TypeAdapter, ValidationError
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "HUB_"
#: Marks a field whose default is computed or means a behaviour (SQLite in the instance dir,
#: the embedded Redis, the adapters' own rates …): README.md describes it in words.
IN_WORDS: dict[str, Any] = {"default_in_words": True}
#: Marks a secret: never echoed in an error message or a repr.
SECRET: dict[str, Any] = {"secret": True}


class ConfigError(ValueError):
    """A ``HUB_*`` value that cannot be parsed; the message names every such variable."""


# -- value types ------------------------------------------------------------------------------
TRUE_WORDS = ("1", "true", "yes")
FALSE_WORDS = ("0", "false", "no")


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError("must be 1, true or yes (on), or 0, false or no (off)")
    return value


def _time_of_day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            hh, mm = value.strip().split(":")
            return time(int(hh), int(mm))
        except ValueError:
            raise ValueError("must be a time of day HH:MM (Asia/Shanghai)") from None
    return value


def _domains(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(d.strip().lower() for d in value.replace("，", ",").split(",") if d.strip())
    return value


def _rates(value: Any) -> Any:
    if isinstance(value, str):
        out: dict[str, int] = {}
        for part in value.split(","):
            if not part.strip():
                continue
            name, _, number = part.partition("=")
            if not name.strip() or not number.strip().isdigit():
                raise ValueError("must be platform=calls-per-second pairs separated by commas, "
                                 "e.g. wechat=400,weibo=20")
            out[name.strip()] = int(number.strip())
        return out
    return value


def _ip_address(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError("must be an IPv4 or IPv6 address, e.g. 211.156.0.1") from None
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]
Seconds = Annotated[float, AllowInfNan(False)]
TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
Domains = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_domains)]
Rates = Annotated[dict[str, int], NoDecode, BeforeValidator(_rates)]
IPAddress = Annotated[str, BeforeValidator(_ip_address)]


# -- the settings -----------------------------------------------------------------------------
class Settings(BaseSettings):
    """Every ``HUB_*`` variable: field ``x`` is the variable ``HUB_X``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True)

    # The instance and its stores.
    instance_dir: Path = Field(
        default=Path("instance"),
        description="SQLite file, embedded Redis, vault key file, secret key, audit witness")
    database_url: str = Field(
        default="", json_schema_extra=IN_WORDS,
        description="any SQLAlchemy URL, e.g. `postgresql://hub@db/hub`, `sqlite:////abs/path.db`")
    redis_url: str = Field(
        default="", json_schema_extra=IN_WORDS, description="e.g. `redis://redis:6379/0`")
    secret_key: str = Field(
        default="", repr=False, json_schema_extra={**IN_WORDS, **SECRET},
        description="Flask session signing key; must be the same for all web processes")
    vault_keys: str = Field(
        default="", repr=False, json_schema_extra={**IN_WORDS, **SECRET},
        description="comma-separated `version:base64key` master keys (32-byte AES keys)")
    # The web front.
    https: Flag = Field(default=False, description="`1` behind HTTPS: Secure cookies and HSTS")
    trusted_proxies: int = Field(
        default=0,
        description="number of reverse proxies in front (ProxyFix), so client IPs cannot be spoofed")
    queue: str = Field(default="hub", description="RQ queue name")
    login_limit: str = Field(
        default="5 per minute;20 per hour", description="failed-login throttle per username")
    login_ip_limit: str = Field(
        default="60 per minute;300 per hour",
        description="failed-login throttle per client address (an office often shares one)")
    api_limit: str = Field(default="1200 per minute", description="API rate limit per token")
    require_totp: Flag = Field(
        default=True,
        description="admins and supervisors must enrol a TOTP second factor before they can work "
                    "(docs/people-and-sign-in.md); `0` only for demos and tests")
    session_idle_minutes: int = Field(
        default=30, gt=0, description="a web session unused this many minutes must sign in again")
    session_max_hours: int = Field(
        default=12, gt=0, description="a web session ends this many hours after sign-in, used or not")
    # Credentials.
    credential_max_age_days: int = Field(
        default=90, description="credentials older than this are listed as due for rotation")
    credential_grace_days: int = Field(
        default=7,
        description="a rotated password's previous version is kept (encrypted) this long, then destroyed")
    reveals_per_hour: int = Field(default=5, description="reveal attempts per admin per hour")
    # 政民互动 (issue 16).
    contact_retention_days: int = Field(
        default=180, ge=1,
        description="senders' contact data (name, phone, WeChat openid, Weibo user id) is erased this many days "
                    "after their message is closed")
    # The dispatch engine (docs/publishing.md).
    dispatch_lease: Seconds = Field(
        default=40.0, description="seconds a worker holds a dispatch between renewals")
    sweep_seconds: Seconds = Field(default=10.0, description="the workers' sweeper interval, seconds")
    pending_grace: Seconds = Field(
        default=20.0, description="seconds before the sweeper re-enqueues an untouched pending dispatch")
    unconfirmed_alert: Seconds = Field(
        default=120.0,
        description="seconds a dispatch stays unconfirmed before the unit's admins are alerted")
    rate_limits: Rates = Field(
        default_factory=dict, json_schema_extra=IN_WORDS,
        description="calls per second per platform, all workers together, e.g. `wechat=400,weibo=20`")
    media_keep: Seconds = Field(
        default=604800.0,
        description="seconds a WeChat cover material no dispatch uses any more is kept for reuse before it is "
                    "deleted from the account's material library")
    weibo_rip: IPAddress = Field(
        default="", json_schema_extra=IN_WORDS,
        description="public IP sent to Weibo as `rip` for scheduled sends and when the acting user's "
                    "recorded IP is not public (the unit's outbound NAT address)")
    wechat_title_max: int = Field(
        default=64, gt=0,
        description="longest WeChat title (字) a post may submit: the back office's 64; WeChat's API "
                    "documentation says 32 (docs/publishing.md)")
    wechat_digest_max: int = Field(
        default=120, gt=0,
        description="longest WeChat digest (摘要, 字): the back office's 120; the API documentation says 128")
    max_video_mb: int = Field(
        default=512, gt=0,
        description="largest video (MB) an editor may upload; it is streamed to a file under the instance "
                    "dir (docs/video-and-manual.md)")
    # The daily re-scan (docs/checks.md).
    rescan_at: TimeOfDay = Field(
        default=time(3, 0),
        description="time of day (Asia/Shanghai, HH:MM) after which the daily re-scan (巡检) runs")
    rescan_days: int = Field(
        default=30, description="the re-scan covers posts published within this many days")
    allowed_domains: Domains = Field(
        default=(), json_schema_extra=IN_WORDS,
        description="comma-separated domains allowed in links besides `*.gov.cn` (post checks, re-scan)")
    link_timeout: Seconds = Field(default=5.0, description="seconds the re-scan waits for each link")
    link_workers: int = Field(default=8, description="links the re-scan checks in parallel")
    # Audit checkpoints and the witness (docs/audit.md).
    audit_checkpoint_every: int = Field(
        default=1000, description="a signed checkpoint every this many audit entries")
    audit_checkpoint_seconds: int = Field(
        default=86400, description="and at least this often (seconds) while the trail grows")
    audit_witness_grace: int = Field(
        default=120, description="seconds a committed entry may still be on its way to the witness")

    # Notifications (docs/notifications.md).
    external_url: str = Field(
        default="http://127.0.0.1:5000",
        description="the hub's address as people reach it: links in notifications are made absolute with it")
    smtp_host: str = Field(
        default="", json_schema_extra=IN_WORDS,
        description="SMTP server for e-mail notifications (none: e-mail channels wait, undelivered)")
    smtp_port: int = Field(default=25, description="SMTP port (587 or 465 need the server's TLS)")
    smtp_from: str = Field(default="hub@localhost", description="sender address of notification e-mail")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)  # the process environment only: no .env or secrets dir


def env_name(field: str) -> str:
    """The variable of a settings field: ``link_timeout`` → ``HUB_LINK_TIMEOUT``."""
    return ENV_PREFIX + field.upper()


#: Variable name → settings field, for every ``HUB_*`` variable.
FIELDS: dict[str, str] = {env_name(f): f for f in Settings.model_fields}

#: The variables ``load_config`` puts into the Flask config dict (read once, when the app is created).
FLASK_KEYS = (
    "HUB_INSTANCE_DIR", "HUB_DATABASE_URL", "HUB_REDIS_URL", "HUB_VAULT_KEYS", "HUB_HTTPS",
    "HUB_TRUSTED_PROXIES", "HUB_QUEUE", "HUB_LOGIN_LIMIT", "HUB_LOGIN_IP_LIMIT", "HUB_API_LIMIT",
    "HUB_CREDENTIAL_MAX_AGE_DAYS", "HUB_CREDENTIAL_GRACE_DAYS", "HUB_REVEALS_PER_HOUR",
)


def values_of(variables: Mapping[str, str], config: Mapping[str, Any] | None = None) -> dict[str, str]:
    """{key: the current value, as text} of each ``HUB_*`` variable of ``variables`` ({key: variable}):
    how an adapter's ``config_settings`` reach it (adapters never read the hub's configuration)."""
    settings = get_settings(config)
    return {key: str(getattr(settings, FIELDS[var])) for key, var in variables.items() if var in FIELDS}


def default(name: str) -> Any:
    """The default of ``HUB_<NAME>`` (for module constants that must agree with the settings)."""
    return Settings.model_fields[FIELDS[name]].get_default(call_default_factory=True)


# -- errors -----------------------------------------------------------------------------------
_PHRASES = {
    "int_parsing": "must be a whole number", "int_from_float": "must be a whole number",
    "int_type": "must be a whole number", "float_parsing": "must be a number",
    "float_type": "must be a number", "finite_number": "must be a finite number",
    "bool_parsing": "must be 1, true or yes (on), or 0, false or no (off)",
}


def _is_secret(field: str) -> bool:
    extra = Settings.model_fields[field].json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("secret"))


def _problem(name: str, err: Any) -> str:
    if err["type"] == "value_error":
        phrase = str(err.get("ctx", {}).get("error") or err["msg"])
    else:
        phrase = _PHRASES.get(err["type"], err["msg"][:1].lower() + err["msg"][1:])
    field = FIELDS.get(name)
    if field is not None and not _is_secret(field) and isinstance(err.get("input"), str | int | float):
        return f"{name} {phrase} (got {err['input']!r})"
    return f"{name} {phrase}"


def _config_error(exc: ValidationError, name: str | None = None) -> ConfigError:
    problems: list[str] = []
    for err in exc.errors():
        loc = err["loc"]
        var = name or (env_name(str(loc[0])) if loc else "HUB_*")
        text = _problem(var, err)
        if text not in problems:
            problems.append(text)
    return ConfigError("; ".join(problems))


# -- reading ----------------------------------------------------------------------------------
def _hub_environ() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)))


@lru_cache(maxsize=16)
def _from_environ(environ: tuple[tuple[str, str], ...]) -> Settings:
    # ``environ`` is the cache key: the settings are parsed again whenever a HUB_* variable changes.
    try:
        return Settings()
    except ValidationError as exc:
        raise _config_error(exc) from None


@cache
def _adapter(field: str) -> TypeAdapter[Any]:
    info = Settings.model_fields[field]
    annotation: Any = info.annotation
    return TypeAdapter(Annotated[(annotation, *info.metadata)] if info.metadata else annotation)


def parse(name: str, value: Any) -> Any:
    """``value`` as the type of ``HUB_<NAME>`` (a :class:`ConfigError` naming it if it does not parse)."""
    field = FIELDS[name]
    try:
        return _adapter(field).validate_python(value)
    except ValidationError as exc:
        raise _config_error(exc, name) from None


@lru_cache(maxsize=256, typed=True)
def _parse_cached(name: str, value: Any) -> Any:
    return parse(name, value)


def _parsed(name: str, value: Any) -> Any:
    try:
        hash(value)
    except TypeError:  # a dict or list: parse it each time
        return parse(name, value)
    return _parse_cached(name, value)


def get_settings(config: Mapping[str, Any] | None = None) -> Settings:
    """The settings now: the environment as it is at this call, with the ``HUB_*`` keys of
    ``config`` (a Flask config: ``create_app`` overrides, tests) winning when set (not None or "")."""
    settings = _from_environ(_hub_environ())
    if not config:
        return settings
    updates = {FIELDS[k]: _parsed(k, v) for k, v in config.items() if k in FIELDS and v not in (None, "")}
    if not updates or all(getattr(settings, f) == v for f, v in updates.items()):
        return settings
    return settings.model_copy(update=updates)


def instance_dir() -> Path:
    """The instance directory (``HUB_INSTANCE_DIR``, default ``./instance``), absolute."""
    return get_settings().instance_dir.resolve()


def _secret_key(inst: Path, configured: str) -> str:
    """``HUB_SECRET_KEY`` or a random key persisted in the instance dir (shared by all processes)."""
    if configured:
        return configured
    path = inst / "secret_key"
    if not path.exists():
        inst.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    return path.read_text().strip()


def _safe_secret_key(inst: Path, configured: str) -> str:
    try:
        return _secret_key(inst, configured)
    except FileExistsError:  # another process created it between exists() and open()
        return (inst / "secret_key").read_text().strip()


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config dict from the environment plus ``overrides`` (which win)."""
    overrides = dict(overrides or {})
    s = get_settings()
    inst = Path(overrides.get("HUB_INSTANCE_DIR") or s.instance_dir).resolve()
    cfg: dict[str, Any] = {
        "HUB_INSTANCE_DIR": str(inst),
        "HUB_DATABASE_URL": s.database_url or f"sqlite:///{inst / 'hub.db'}",
        "HUB_REDIS_URL": s.redis_url,
        "HUB_VAULT_KEYS": s.vault_keys,
        "HUB_HTTPS": s.https,
        "HUB_TRUSTED_PROXIES": s.trusted_proxies,
        "HUB_QUEUE": s.queue,
        "HUB_LOGIN_LIMIT": s.login_limit,
        "HUB_LOGIN_IP_LIMIT": s.login_ip_limit,
        "HUB_API_LIMIT": s.api_limit,
        "HUB_CREDENTIAL_MAX_AGE_DAYS": s.credential_max_age_days,
        "HUB_CREDENTIAL_GRACE_DAYS": s.credential_grace_days,
        "HUB_REVEALS_PER_HOUR": s.reveals_per_hour,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # A form's text fields (the editor's HTML) may be as large as a request: an old draft with
        # inline images must still save (they are then stored as media), not fail with 413.
        "MAX_FORM_MEMORY_SIZE": 16 * 1024 * 1024,
        "JSON_AS_ASCII": False,
    }
    cfg.update(overrides)
    cfg["SESSION_COOKIE_SECURE"] = cfg["HUB_HTTPS"]
    cfg["REMEMBER_COOKIE_SECURE"] = cfg["HUB_HTTPS"]
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = _safe_secret_key(inst, s.secret_key)
    return cfg
