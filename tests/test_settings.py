"""The HUB_* settings (hub/config.py): README.md's configuration table against the settings class,
parsing with clear errors, and where a value comes from (overrides, app config, the environment now)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from hub.config import FIELDS, FLASK_KEYS, ConfigError, Settings, env_name, get_settings, load_config

ROOT = Path(__file__).resolve().parent.parent


# -- README.md's configuration table ------------------------------------------------------------
def readme_table() -> dict[str, str]:
    """``{variable: default cell}`` of the table under ``## Configuration``, one variable per row."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = re.findall(r"HUB_[A-Z0-9_]+", cells[0])
        if not names:
            continue  # the header and the separator
        assert len(cells) == 3, f"README row is not variable | default | meaning: {line}"
        assert cells[0] == f"`{names[0]}`", f"one variable per README row, its name in backticks: {cells[0]}"
        assert names[0] not in rows, f"{names[0]} appears twice in the README table"
        assert cells[2], f"{names[0]} has no meaning in the README table"
        rows[names[0]] = cells[1]
    return rows


def in_words(field: str) -> bool:
    """Fields whose default is computed or a behaviour: README.md describes it in words."""
    extra = Settings.model_fields[field].json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("default_in_words"))


def same_default(documented: str, value: Any) -> bool:
    """The README's literal default (``documented``) and the field's default, normalised by type."""
    if isinstance(value, bool):
        return documented.lower() in (("1", "true", "yes", "on") if value else ("0", "false", "no", "off"))
    if isinstance(value, int | float):
        try:
            return float(documented) == float(value)
        except ValueError:
            return False
    if isinstance(value, time):
        return documented == value.strftime("%H:%M")
    if isinstance(value, Path):
        return Path(documented) == value
    return documented == str(value)


def test_readme_lists_every_setting_and_nothing_else():
    documented = set(readme_table())
    declared = set(FIELDS)
    assert declared - documented == set(), "settings missing from README.md's configuration table"
    assert documented - declared == set(), "README.md documents variables the settings do not have"
    assert len(declared) == 40


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_readme_default_matches_the_field(field):
    cell = readme_table()[env_name(field)]
    info = Settings.model_fields[field]
    assert cell, f"{env_name(field)} has no default in README.md"
    if in_words(field):
        return  # computed or behavioural (SQLite in the instance dir, …): described in words
    literal = re.match(r"`([^`]*)`", cell)
    assert literal, f"{env_name(field)}: README's default must start with the value in backticks: {cell!r}"
    default = info.get_default(call_default_factory=True)
    assert same_default(literal.group(1), default), (
        f"{env_name(field)}: README says {literal.group(1)!r}, the settings' default is {default!r}")


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_field_has_a_one_line_description(field):
    description = Settings.model_fields[field].description or ""
    assert description.strip() and "\n" not in description


# -- values -------------------------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No HUB_* variable set (restored after the test)."""
    for name in list(os.environ):
        if name.upper().startswith("HUB_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_when_nothing_is_set(clean_env, tmp_path):
    s = get_settings()
    assert s.instance_dir == Path("instance")
    assert (s.database_url, s.redis_url, s.vault_keys, s.secret_key) == ("", "", "", "")
    assert (s.dispatch_lease, s.sweep_seconds) == (40.0, 10.0)
    assert (s.pending_grace, s.unconfirmed_alert) == (20.0, 120.0)
    assert (s.rescan_at, s.rescan_days, s.allowed_domains) == (time(3, 0), 30, ())
    assert (s.link_timeout, s.link_workers) == (5.0, 8)
    assert (s.audit_checkpoint_every, s.audit_checkpoint_seconds, s.audit_witness_grace) == (1000, 86400, 120)
    assert s.rate_limits == {}
    inst = tmp_path / "inst"
    cfg = load_config({"HUB_INSTANCE_DIR": str(inst)})
    assert {k: cfg[k] for k in FLASK_KEYS} == {
        "HUB_INSTANCE_DIR": str(inst), "HUB_DATABASE_URL": f"sqlite:///{inst / 'hub.db'}",
        "HUB_REDIS_URL": "",
        "HUB_VAULT_KEYS": "", "HUB_HTTPS": False, "HUB_TRUSTED_PROXIES": 0, "HUB_QUEUE": "hub",
        "HUB_LOGIN_LIMIT": "5 per minute;20 per hour", "HUB_LOGIN_IP_LIMIT": "60 per minute;300 per hour",
        "HUB_API_LIMIT": "1200 per minute",
        "HUB_CREDENTIAL_MAX_AGE_DAYS": 90, "HUB_CREDENTIAL_GRACE_DAYS": 7, "HUB_REVEALS_PER_HOUR": 5}
    assert cfg["SESSION_COOKIE_SECURE"] is False
    assert len(cfg["SECRET_KEY"]) == 64 and (inst / "secret_key").read_text() == cfg["SECRET_KEY"]
    assert load_config({"HUB_INSTANCE_DIR": str(inst)})["SECRET_KEY"] == cfg["SECRET_KEY"]  # kept


def test_values_parse_by_type(clean_env):
    clean_env.setenv("HUB_HTTPS", "yes")
    clean_env.setenv("HUB_TRUSTED_PROXIES", "2")
    clean_env.setenv("HUB_RATE_LIMITS", "wechat=400, weibo=20,")
    clean_env.setenv("HUB_ALLOWED_DOMAINS", "Example.COM，nmg.edu.cn, ")
    clean_env.setenv("HUB_RESCAN_AT", "6:30")
    clean_env.setenv("HUB_LINK_TIMEOUT", "2.5")
    clean_env.setenv("HUB_SECRET_KEY", "s3cret-value")
    s = get_settings()
    assert (s.https, s.trusted_proxies, s.rescan_at, s.link_timeout) == (True, 2, time(6, 30), 2.5)
    assert s.rate_limits == {"wechat": 400, "weibo": 20}
    assert s.allowed_domains == ("example.com", "nmg.edu.cn")
    assert "s3cret-value" not in repr(s)  # secrets stay out of logs
    clean_env.setenv("HUB_HTTPS", "0")
    assert get_settings().https is False


def test_an_empty_variable_counts_as_unset(clean_env):
    for name in ("HUB_QUEUE", "HUB_TRUSTED_PROXIES", "HUB_HTTPS", "HUB_RESCAN_AT", "HUB_LINK_TIMEOUT"):
        clean_env.setenv(name, "")
    s = get_settings()
    assert (s.queue, s.trusted_proxies, s.https) == ("hub", 0, False)
    assert (s.rescan_at, s.link_timeout) == (time(3, 0), 5.0)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("HUB_TRUSTED_PROXIES", "two", "HUB_TRUSTED_PROXIES must be a whole number (got 'two')"),
    ("HUB_LINK_WORKERS", "2.5", "HUB_LINK_WORKERS must be a whole number (got '2.5')"),
    ("HUB_LINK_TIMEOUT", "soon", "HUB_LINK_TIMEOUT must be a number (got 'soon')"),
    ("HUB_DISPATCH_LEASE", "nan", "HUB_DISPATCH_LEASE must be a finite number (got 'nan')"),
    ("HUB_HTTPS", "maybe", "HUB_HTTPS must be 1, true or yes (on), or 0, false or no (off) (got 'maybe')"),
    ("HUB_RESCAN_AT", "25:00", "HUB_RESCAN_AT must be a time of day HH:MM (Asia/Shanghai) (got '25:00')"),
    ("HUB_RATE_LIMITS", "wechat=fast", "HUB_RATE_LIMITS must be platform=calls-per-second pairs"),
])
def test_a_bad_value_is_one_clear_error_naming_the_variable(clean_env, tmp_path, name, value, message):
    clean_env.setenv(name, value)
    for read in (get_settings, lambda: load_config({"HUB_INSTANCE_DIR": str(tmp_path)})):
        with pytest.raises(ConfigError) as exc:
            read()
        assert str(exc.value).startswith(message)
        assert "pydantic" not in str(exc.value) and "\n" not in str(exc.value)
        assert exc.value.__suppress_context__  # not chained to pydantic's ValidationError dump
    with pytest.raises(ConfigError, match=re.escape(message)):
        get_settings({name: value})  # a bad app-config value says the same


def test_every_bad_value_is_named_at_once(clean_env):
    clean_env.setenv("HUB_TRUSTED_PROXIES", "two")
    clean_env.setenv("HUB_SWEEP_SECONDS", "often")
    with pytest.raises(ConfigError) as exc:
        get_settings()
    assert "HUB_TRUSTED_PROXIES must be a whole number" in str(exc.value)
    assert "HUB_SWEEP_SECONDS must be a number" in str(exc.value)


def test_the_hub_command_prints_a_bad_value_without_a_traceback(clean_env, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HUB_")}
    env.update(HUB_INSTANCE_DIR=str(tmp_path / "inst"), HUB_TRUSTED_PROXIES="two")
    r = subprocess.run([sys.executable, "-m", "hub", "init"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1
    assert "HUB_TRUSTED_PROXIES must be a whole number (got 'two')" in r.stderr
    assert "Traceback" not in r.stderr and "pydantic" not in r.stderr


# -- where a value comes from ---------------------------------------------------------------------
def test_overrides_win_over_the_environment(clean_env, tmp_path):
    clean_env.setenv("HUB_QUEUE", "from-env")
    clean_env.setenv("HUB_TRUSTED_PROXIES", "2")
    clean_env.setenv("HUB_HTTPS", "1")
    clean_env.setenv("HUB_SECRET_KEY", "env-secret")
    clean_env.setenv("HUB_INSTANCE_DIR", str(tmp_path / "env-inst"))
    cfg = load_config({"HUB_QUEUE": "override", "HUB_TRUSTED_PROXIES": 0, "HUB_HTTPS": False,
                       "HUB_INSTANCE_DIR": str(tmp_path / "over-inst"), "SECRET_KEY": "override-secret"})
    assert (cfg["HUB_QUEUE"], cfg["HUB_TRUSTED_PROXIES"], cfg["HUB_HTTPS"]) == ("override", 0, False)
    assert cfg["SESSION_COOKIE_SECURE"] is False and cfg["SECRET_KEY"] == "override-secret"
    assert cfg["HUB_INSTANCE_DIR"] == str(tmp_path / "over-inst")
    assert cfg["HUB_DATABASE_URL"] == f"sqlite:///{tmp_path / 'over-inst' / 'hub.db'}"
    assert load_config({"HUB_INSTANCE_DIR": str(tmp_path)})["SECRET_KEY"] == "env-secret"
    # The runtime tunables: a config key wins, an unset one (None or "") falls back to the environment.
    clean_env.setenv("HUB_LINK_TIMEOUT", "7")
    assert get_settings({"HUB_LINK_TIMEOUT": "2"}).link_timeout == 2.0
    assert get_settings({"HUB_LINK_TIMEOUT": ""}).link_timeout == 7.0
    assert get_settings({"HUB_PENDING_GRACE": 0}).pending_grace == 0.0


def test_the_environment_is_read_at_call_time(clean_env):
    assert get_settings().sweep_seconds == 10.0
    clean_env.setenv("HUB_SWEEP_SECONDS", "1")
    assert get_settings().sweep_seconds == 1.0
    clean_env.delenv("HUB_SWEEP_SECONDS")
    assert get_settings().sweep_seconds == 10.0


def test_create_app_overrides_and_the_app_config_reach_the_code(instance, monkeypatch):
    from hub import create_app
    from hub.accounts.service import grace_days, max_age_days
    from hub.checks.jobs import run_at, window_days
    from hub.checks.service import allowed_domains
    from hub.dispatch.jobs.publish import lease_seconds
    from hub.dispatch.jobs.reconcile import alert_after
    from hub.queue import platform_rates
    from hub.worker import sweep_seconds

    monkeypatch.setenv("HUB_LOGIN_LIMIT", "9 per minute")
    monkeypatch.setenv("HUB_CREDENTIAL_GRACE_DAYS", "3")
    app = create_app({"TESTING": True, "HUB_LOGIN_LIMIT": "3 per minute",
                      "HUB_CREDENTIAL_MAX_AGE_DAYS": 30})
    assert app.config["HUB_LOGIN_LIMIT"] == "3 per minute"
    with app.app_context():
        assert (max_age_days(), grace_days()) == (30, 3)
        assert allowed_domains() == ()
        monkeypatch.setenv("HUB_ALLOWED_DOMAINS", "example.org")  # after the app was created
        assert allowed_domains() == ("example.org",)
        app.config["HUB_ALLOWED_DOMAINS"] = "a.example, b.example"
        assert allowed_domains() == ("a.example", "b.example")
    assert (lease_seconds(app), sweep_seconds(app), alert_after(app)) == (40.0, 10.0, 120.0)
    assert (run_at(app), window_days(app), platform_rates(app.config)) == (time(3, 0), 30, {})
    monkeypatch.setenv("HUB_UNCONFIRMED_ALERT", "0")
    monkeypatch.setenv("HUB_RATE_LIMITS", "weibo=3")
    app.config.update(HUB_DISPATCH_LEASE="6", HUB_SWEEP_SECONDS=0, HUB_RESCAN_AT="06:30", HUB_RESCAN_DAYS="7")
    assert (lease_seconds(app), sweep_seconds(app), alert_after(app)) == (6.0, 1.0, 0.0)  # clamped to 1 s
    assert (run_at(app), window_days(app), platform_rates(app.config)) == (time(6, 30), 7, {"weibo": 3})
    from hub.db import db

    if db.engine is not None:
        db.engine.dispose()
