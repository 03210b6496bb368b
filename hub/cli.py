"""The ``hub`` command line (also reachable as ``flask --app hub``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app, has_app_context

from . import audit


@contextmanager
def app_context() -> Iterator[Flask]:
    """The current app, or a new one from the environment, with an app context pushed."""
    if has_app_context():
        yield current_app._get_current_object()  # type: ignore[attr-defined]
        return
    from . import create_app

    app = create_app()
    with app.app_context():
        yield app


@contextmanager
def cli_actor() -> Iterator[None]:
    token = audit.current_actor.set(audit.Actor.cli())
    try:
        yield
    finally:
        audit.current_actor.reset(token)


def fail(message: str, code: int = 1) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(code)


@click.group()
def main() -> None:
    """政务新媒体发布中心 (government new-media publishing hub)."""


# -- init ---------------------------------------------------------------------------------
@main.command()
def init() -> None:
    """Create or upgrade the schema, instance dir and vault key; idempotent."""
    from .setup import initialise

    with app_context() as app, cli_actor():
        report = initialise(app)
    for line in report:
        click.echo(line)


# -- units and users ----------------------------------------------------------------------
@main.group()
def unit() -> None:
    """Manage units (the administrative tree)."""


@unit.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--parent", "parent_code", default=None, help="parent unit code")
@click.option("--kind", type=click.Choice(["region", "league", "banner", "department"]), default="department")
def unit_create(code: str, name: str, parent_code: str | None, kind: str) -> None:
    """Create a unit."""
    from .errors import HubError
    from .services.admin import create_unit

    with app_context(), cli_actor():
        from .db import db

        try:
            with db.transaction() as s:
                u = create_unit(s, code, name, parent_code, kind)
        except HubError as exc:
            fail(exc.message, 2)
        click.echo(f"已创建单位 {u.code} {u.name}")


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("username")
@click.option("--unit", "unit_code", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["editor", "reviewer", "admin", "supervisor"]))
@click.option("--name", default="", help="display name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def user_create(username: str, unit_code: str, roles: tuple[str, ...], name: str, password_stdin: bool) -> None:
    """Create a user with roles in their unit."""
    from .errors import HubError
    from .services.admin import create_user

    if not password_stdin:
        fail("请使用 --password-stdin 从标准输入提供密码", 2)
    password = sys.stdin.readline().rstrip("\r\n")
    with app_context(), cli_actor():
        from .db import db

        try:
            with db.transaction() as s:
                u = create_user(s, username, unit_code, list(roles), password, name)
        except HubError as exc:
            fail(exc.message, 2)
        click.echo(f"已创建用户 {u.username}（{', '.join(sorted(set(roles)))}）")


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("username")
def token_create(username: str) -> None:
    """Print a new API token once, alone on stdout."""
    from .errors import HubError
    from .services.admin import create_token

    with app_context(), cli_actor():
        from .db import db

        try:
            with db.transaction() as s:
                tok = create_token(s, username)
        except HubError as exc:
            fail(exc.message, 2)
        click.echo(tok)


# -- processes ----------------------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="web processes")
def serve(host: str, port: int, workers: int) -> None:
    """Web server (gunicorn); --host :: serves IPv6 and IPv4 (dual stack)."""
    from .server import run_gunicorn

    run_gunicorn(host, port, workers)


@main.command()
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
def worker(burst: bool) -> None:
    """RQ worker with scheduler (and the dispatch sweeper)."""
    from .worker import run_worker

    with app_context() as app:
        run_worker(app, burst=burst)


@main.command()
@click.argument("platform")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5081, show_default=True, type=int)
def simulate(platform: str, host: str, port: int) -> None:
    """Run a platform simulator (wechat, …)."""
    from adapters.simulators import run

    try:
        run(platform, host, port)
    except KeyError:
        fail(f"没有平台 {platform} 的模拟器", 2)


@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--host", default="::", show_default=True)
@click.option("--sim-port", default=5081, show_default=True, type=int)
def demo(port: int, host: str, sim_port: int) -> None:
    """All-in-one: init, seed demo data, simulator, worker and web."""
    from .demo import run_demo

    run_demo(host, port, sim_port)


# -- vault --------------------------------------------------------------------------------
@main.group()
def vault() -> None:
    """The credential vault."""


@vault.command("status")
def vault_status() -> None:
    """Key versions, credentials per version, minimum decryption version."""
    from .services.vault_admin import status

    with app_context() as app:
        st = status(app)
    click.echo(json.dumps(st, ensure_ascii=False, indent=2))
    if st.get("locked"):
        sys.exit(1)


@vault.command("rotate-key")
@click.option("--batch", default=500, show_default=True, type=int)
def vault_rotate(batch: int) -> None:
    """Add a key version and rewrap every secret (plaintext untouched)."""
    from .services.vault_admin import rotate_key

    with app_context() as app, cli_actor():
        try:
            new, count = rotate_key(app, batch)
        except Exception as exc:  # locked vault, env-provided keys
            fail(getattr(exc, "message", str(exc)), 1)
    click.echo(f"新密钥版本 {new}；已重新封装 {count} 个凭据")


# -- audit --------------------------------------------------------------------------------
@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Exit 0 if intact; else exit 1 naming the first bad entry."""
    from .db import db

    with app_context():
        res = audit.verify(db.session())
    if res.ok:
        click.echo(f"审计日志完整：{res.entries} 条，链头 {res.head['seq'] if res.head else 0} "
                   f"{res.head['hash'] if res.head else ''}")
        return
    click.echo(f"审计日志校验失败：第 {res.first_bad_seq} 条 — {res.reason}", err=True)
    click.echo(f"first bad entry: seq {res.first_bad_seq}: {res.reason}")
    sys.exit(1)


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "output", type=click.Path(dir_okay=False, writable=True), default=None)
def audit_export(fmt: str, output: str | None) -> None:
    """Export every entry with the chain fields needed to verify it independently."""
    from .services.audit_export import export

    with app_context(), cli_actor():
        fh = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            n = export(fh, fmt)
        finally:
            if output:
                fh.close()
    if output:
        click.echo(f"已导出 {n} 条审计记录到 {output}", err=True)


# -- content checks -----------------------------------------------------------------------
@main.command()
@click.argument("source")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
def check(source: str, fmt: str) -> None:
    """Run the content checks on a file (text or HTML) or - for stdin.

    Exit 0: no blocking finding; 1: blocking finding(s); 2: bad usage or unreadable input.
    """
    try:
        if source == "-":
            raw = sys.stdin.buffer.read()
        else:
            raw = Path(source).read_bytes()
        content = raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"错误：无法读取输入：{exc}", err=True)
        sys.exit(2)
    from review.checks import check_content, has_blocking

    findings = check_content(content)
    if fmt == "json":
        click.echo(json.dumps({"findings": [f.to_dict() for f in findings]}, ensure_ascii=False))
    else:
        if not findings:
            click.echo("未发现问题")
        for f in findings:
            sug = f"，建议：{f.suggestion}" if f.suggestion else ""
            click.echo(f"[{f.severity}] {f.category} {f.start}-{f.end} 「{f.text}」 {f.message}{sug}")
    sys.exit(1 if has_blocking(findings) else 0)


def register(app: Flask) -> None:
    """Make every command reachable as ``flask --app hub <command>`` too."""
    for name, cmd in main.commands.items():
        app.cli.add_command(cmd, name)


