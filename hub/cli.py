"""The ``hub`` command line (also reachable as ``flask --app hub``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app, has_app_context

from hub import audit


@contextmanager
def app_context() -> Iterator[Flask]:
    """The current app, or a new one from the environment, with an app context pushed."""
    if has_app_context():
        yield current_app._get_current_object()  # type: ignore[attr-defined]
        return
    from hub import create_app

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


class HubGroup(click.Group):
    """The ``hub`` group: a ``HUB_*`` value that does not parse is one clear line, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from hub.config import ConfigError

        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"错误：{exc}", err=True)
            raise click.exceptions.Exit(1) from None


@click.group(cls=HubGroup)
def main() -> None:
    """政务新媒体发布中心 (government new-media publishing hub)."""


# -- validity (效力标注) --------------------------------------------------------------------
@main.group()
def validity() -> None:
    """Policies' validity (效力标注, docs/library.md)."""


@validity.command("run")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD (default: today in Beijing)")
def validity_run(as_of: str | None) -> None:
    """Mark published policies whose expiry date is on or before the date as 失效 and push the update."""
    from hub.db import db
    from hub.posts import validity as validity_svc

    day = validity_svc.parse_day(as_of)
    if day is None:
        return fail("--as-of 必须是 YYYY-MM-DD 格式的日期")
    with app_context(), cli_actor(), db.transaction() as s:
        ids = validity_svc.expire_due(s, day)
    click.echo(f"已标注失效 {len(ids)} 件政策文件" + (f"：{', '.join(map(str, ids))}" if ids else ""))


# -- init ---------------------------------------------------------------------------------
@main.command()
def init() -> None:
    """Create or upgrade the schema, instance dir and vault key; idempotent."""
    from hub.bootstrap import initialise

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
    from hub.errors import HubError
    from hub.org.service import create_unit

    with app_context(), cli_actor():
        from hub.db import db

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
              type=click.Choice(["editor", "reviewer", "admin", "supervisor", "witness"]),
              help="witness: only for another hub that sends its audit checkpoints here")
@click.option("--name", default="", help="display name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def user_create(username: str, unit_code: str, roles: tuple[str, ...], name: str, password_stdin: bool) -> None:
    """Create a user with roles in their unit."""
    from hub.errors import HubError
    from hub.org.service import create_user

    if not password_stdin:
        fail("请使用 --password-stdin 从标准输入提供密码", 2)
    password = sys.stdin.readline().rstrip("\r\n")
    with app_context(), cli_actor():
        from hub.db import db

        try:
            with db.transaction() as s:
                u = create_user(s, username, unit_code, list(roles), password, name)
        except HubError as exc:
            fail(exc.message, 2)
        click.echo(f"已创建用户 {u.username}（{', '.join(sorted(set(roles)))}）")


@user.command("disable")
@click.argument("username")
@click.option("--reason", default="", help="why (recorded in the audit trail)")
def user_disable(username: str, reason: str) -> None:
    """Disable a user: sessions and API tokens stop working; credentials they could reveal
    get rotation tasks."""
    from hub.errors import HubError
    from hub.org.users import disable_user

    with app_context(), cli_actor():
        from hub.db import db

        try:
            with db.transaction() as s:
                u, tasks = disable_user(s, username, reason)
        except HubError as exc:
            fail(exc.message, 2)
        click.echo(f"已停用用户 {u.username}；开启 {len(tasks)} 个凭据轮换任务")


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("username")
def token_create(username: str) -> None:
    """Print a new API token once, alone on stdout."""
    from hub.errors import HubError
    from hub.org.service import create_token

    with app_context(), cli_actor():
        from hub.db import db

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
    from hub.config import get_settings
    from hub.server import run_gunicorn

    get_settings()  # a bad HUB_* value stops here with one line, not in every gunicorn worker
    run_gunicorn(host, port, workers)


@main.command()
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
def worker(burst: bool) -> None:
    """RQ worker with scheduler (and the dispatch sweeper)."""
    from hub.worker import run_worker

    with app_context() as app:
        run_worker(app, burst=burst)


@main.command()
@click.argument("platform")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5081, show_default=True, type=int)
def simulate(platform: str, host: str, port: int) -> None:
    """Run a platform simulator (wechat, weibo, website, douyin, kuaishou)."""
    from adapters.simulators import run

    try:
        run(platform, host, port)
    except KeyError:
        fail(f"没有平台 {platform} 的模拟器", 2)


@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--host", default="::", show_default=True)
@click.option("--sim-port", default=5081, show_default=True, type=int, help="the WeChat simulator's port")
@click.option("--weibo-port", default=5082, show_default=True, type=int, help="the Weibo simulator's port")
@click.option("--website-port", default=5083, show_default=True, type=int, help="the website simulator's port")
@click.option("--douyin-port", default=5084, show_default=True, type=int, help="the Douyin simulator's port")
@click.option("--kuaishou-port", default=5085, show_default=True, type=int, help="the Kuaishou simulator's port")
def demo(port: int, host: str, sim_port: int, weibo_port: int, website_port: int, douyin_port: int,
         kuaishou_port: int) -> None:
    """All-in-one: init, seed demo data, the platform simulators, worker and web."""
    from hub.demo import run_demo

    run_demo(host, port, {"wechat": sim_port, "weibo": weibo_port, "website": website_port, "douyin": douyin_port,
                          "kuaishou": kuaishou_port})


# -- vault --------------------------------------------------------------------------------
@main.group()
def vault() -> None:
    """The credential vault."""


@vault.command("status")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
def vault_status(fmt: str) -> None:
    """Key versions, credentials per version, minimum decryption version. Exit 1 if locked."""
    from hub.accounts.vault_admin import status

    with app_context() as app:
        st = status(app)
    if fmt == "json":
        click.echo(json.dumps(st, ensure_ascii=False, indent=2))
    else:
        click.echo(f"状态：{st['message']}")
        click.echo(f"密钥来源：{st['source']}")
        click.echo(f"已加载版本：{', '.join(map(str, st['versions'])) or '无'}；当前版本：{st['current_version']}")
        click.echo(f"最低解密版本：{st['min_decryption_version']}；已停用：{st['retired_versions'] or '无'}")
        for v, n in st["credentials_per_version"].items():
            click.echo(f"  版本 {v}：{n} 个数据密钥")
        click.echo(f"宽限期内的旧凭据版本：{st['archived_versions']} 个")
    if st.get("locked"):
        sys.exit(1)


@vault.command("rotate-key")
@click.option("--batch", default=500, show_default=True, type=int, help="credentials per transaction")
def vault_rotate(batch: int) -> None:
    """Add a key version and rewrap every secret in batches (plaintext untouched; safe while running).

    With HUB_VAULT_KEYS, first add the new version to the variable of every process;
    this then rewraps everything to the highest version.
    """
    from hub.accounts.vault_admin import rotate
    from hub.errors import HubError

    with app_context() as app, cli_actor():
        try:
            report = rotate(app, batch)
        except HubError as exc:
            fail(exc.message, 1)
    added = "新增" if report.added else "使用"
    click.echo(f"{added}密钥版本 {report.new_version}；已重新封装 {report.rewrapped} 个数据密钥")


@vault.command("retire")
@click.option("--below", type=int, default=None,
              help="retire every version below this one (default: the current version)")
def vault_retire(below: int | None) -> None:
    """Retire old key versions once nothing uses them: raise the minimum decryption version and
    remove their key material from the key file (back it up first)."""
    from hub.accounts.vault_admin import retire
    from hub.errors import HubError

    with app_context() as app, cli_actor():
        try:
            res = retire(app, below)
        except HubError as exc:
            fail(exc.message, 1)
    if not res["retired"]:
        click.echo(f"没有需要停用的版本；最低解密版本 {res['min_decryption_version']}")
        return
    click.echo(f"已停用版本 {', '.join(map(str, res['retired']))}；最低解密版本 {res['min_decryption_version']}")
    if res["removed_from_file"]:
        click.echo(f"已从密钥文件删除版本 {', '.join(map(str, res['removed_from_file']))} 的密钥")
    elif app.extensions["hub_vault"].env_keys:
        click.echo("密钥来自 HUB_VAULT_KEYS：请从每个进程的该变量中删除已停用的版本")


@vault.command("purge")
@click.option("--lost-version", type=int, default=None,
              help="a master key version that is irrecoverably lost: delete what it wrapped")
def vault_purge(lost_version: int | None) -> None:
    """Destroy archived credential versions whose grace period has ended (or, with
    --lost-version, the credentials a lost master key made undecryptable)."""
    from hub.accounts.vault_admin import forget_lost_version, purge_expired_archive
    from hub.db import db
    from hub.errors import HubError

    with app_context() as app, cli_actor():
        if lost_version is not None:
            try:
                res = forget_lost_version(app, lost_version)
            except HubError as exc:
                fail(exc.message, 1)
            click.echo(f"已删除 {res['credentials']} 个无法解密的凭据和 {res['archived']} 个旧版本；"
                       "请管理员重新设置这些账号的凭据")
            return
        with db.transaction() as s:
            n = purge_expired_archive(s)
    click.echo(f"已销毁 {n} 个过期的旧凭据版本")


# -- backup and restore ------------------------------------------------------------------
@main.command("backup")
@click.option("--output", "output", required=True, type=click.Path(file_okay=False),
              help="a new (or empty) directory for the backup")
def backup_cmd(output: str) -> None:
    """Back up the database, keys, audit witness and checkpoints into DIR, with a checksummed manifest."""
    from hub.backup import BackupError, backup

    try:
        rep = backup(output)
    except BackupError as exc:
        fail(str(exc), 1)
    for note in rep.notes:
        click.echo(f"注意：{note}", err=True)
    click.echo(f"已备份到 {rep.directory}：{len(rep.files)} 个文件，审计日志到第 {rep.audit_head} 条"
               "（清单 manifest.json 含每个文件的 SHA-256）")


@main.command("restore")
@click.argument("directory", type=click.Path(file_okay=False))
def restore_cmd(directory: str) -> None:
    """Restore a backup made by ``hub backup`` onto a fresh instance (HUB_INSTANCE_DIR / HUB_DATABASE_URL)."""
    from hub.backup import BackupError, restore

    try:
        manifest = restore(directory)
    except BackupError as exc:
        fail(str(exc), 1)
    if manifest.get("missing_videos"):
        click.echo(f"注意：备份时有 {len(manifest['missing_videos'])} 个视频的文件已缺失或被改动，未能恢复"
                   "（这些视频需由编辑重新上传）", err=True)
    click.echo(f"已恢复备份（{manifest['created_at']}，审计日志到第 {manifest['audit_head']['seq']} 条）；"
               "请运行 hub init 升级数据库结构，再运行 hub audit verify 核对审计日志")


# -- audit --------------------------------------------------------------------------------
@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@click.option("--public-key", "public_key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="pin the checkpoint public key (base64 or PEM) instead of the instance's own")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--witness", "witness_url", default=None,
              help="also hold the trail against the signed checkpoints a remote witness hub keeps")
@click.option("--token", "token", default=None, envvar="HUB_WITNESS_TOKEN",
              help="API token at the witness (default: the one stored by hub audit witness add)")
def audit_verify(public_key: str | None, as_json: bool, witness_url: str | None, token: str | None) -> None:
    """Exit 0 if intact; else exit 1 naming the first bad entry (2: the witness cannot be reached).

    Recomputes the hash chain and holds it against the witness file and the
    signed checkpoints in the instance dir, and with --witness against the
    checkpoints the remote witness holds.
    """
    if witness_url:
        _verify_remote(witness_url, token)
    from hub.audit.witness import load_public_key
    from hub.db import db

    pinned = None
    if public_key:
        try:
            pinned = load_public_key(Path(public_key).read_text())
        except (OSError, ValueError) as exc:
            fail(f"无法读取公钥 {public_key}：{exc}", 2)
    with app_context() as app:
        res = audit.verify(db.session(), app.extensions.get("hub_witness"), public_key=pinned)
        db.session.remove()
    if as_json:
        click.echo(json.dumps(res.to_dict(), ensure_ascii=False))
    for w in res.warnings:
        click.echo(f"注意：{w}", err=True)
    if res.ok:
        if not as_json:
            head = res.head or {"seq": 0, "hash": ""}
            cp = res.last_checkpoint
            click.echo(f"审计日志完整：{res.entries} 条，链头第 {head['seq']} 条 {head['hash']}")
            click.echo(f"见证文件 {res.witnessed} 条；有效签名检查点 {res.checkpoints} 个"
                       + (f"，最近一个在第 {cp['seq']} 条（{cp['at']}）" if cp else "")
                       + (f"；签名公钥指纹 {res.key_id}" if res.key_id else ""))
        return
    where = f"第 {res.first_bad_seq} 条" if res.first_bad_seq is not None else "审计日志"
    click.echo(f"审计日志校验失败：{where} — {res.reason}", err=True)
    if not as_json:
        click.echo(f"first bad entry: seq {res.first_bad_seq}: {res.reason}")
    sys.exit(1)


def _verify_remote(url: str, token: str | None) -> None:
    """``hub audit verify --witness URL``: every remote checkpoint's seq must have that hash locally."""
    from hub.audit import remote
    from hub.audit.witness import key_id
    from hub.db import db

    with app_context() as app:
        w = app.extensions["hub_witness"]
        pub = w.public_key()
        if pub is None:
            fail("没有审计检查点签名公钥，请先运行 hub init", 2)
        if token is None:
            try:
                url_n = remote.normalize_url(url)
            except ValueError as exc:
                fail(str(exc), 2)
            token = next((r.token for r in remote.load_remotes(w) if r.url == url_n), None)
            if token is None:
                fail(f"没有 {url} 的令牌：请用 --token 给出，或先运行 hub audit witness add", 2)
        assert token is not None
        try:
            items = remote.fetch(url, token, key_id(pub))
        except remote.WitnessUnreachable as exc:
            fail(str(exc), 2)
        checked, bad, why = remote.compare(db.session(), w, items)
        db.session.remove()
    if bad is not None:
        click.echo(f"审计日志与见证方不符：第 {bad} 条 — {why}", err=True)
        click.echo(f"first bad entry: seq {bad}: {why}")
        sys.exit(1)
    click.echo(f"见证方 {url} 的 {checked} 个签名检查点与本地审计日志一致")


@audit_group.group("witness")
def witness_group() -> None:
    """Another hub (typically the region's) that keeps this hub's signed checkpoints."""


@witness_group.command("add")
@click.argument("url")
@click.option("--token", "token", required=True, help="API token of a witness user at that hub")
def witness_add(url: str, token: str) -> None:
    """Send this hub's checkpoints to the hub at URL (the token is kept 0600 in the instance dir)."""
    from hub.audit import remote

    with app_context() as app:
        try:
            r = remote.add_remote(app.extensions["hub_witness"], url, token)
        except ValueError as exc:
            fail(str(exc), 2)
    click.echo(f"已登记见证方 {r.url}；检查点将由 worker 发送，或运行 hub audit witness push 立即发送")


@witness_group.command("list")
def witness_list() -> None:
    """The witnesses this hub sends to and how many checkpoints each has acknowledged."""
    from hub.audit import remote

    with app_context() as app:
        w = app.extensions["hub_witness"]
        remotes = remote.load_remotes(w)
        total = len(remote._lines(w))
    if not remotes:
        click.echo("没有登记见证方")
    for r in remotes:
        click.echo(f"{r.url}  已确认 {r.sent}/{total} 个检查点")


@witness_group.command("push")
def witness_push() -> None:
    """Send pending checkpoints now. Exit 1 if a witness refused or could not be reached."""
    from hub.audit import remote

    with app_context() as app:
        results = remote.push(app.extensions["hub_witness"])
    if not results:
        fail("没有登记见证方（hub audit witness add URL --token T）", 2)
    bad = False
    for url, n, problem in results:
        click.echo(f"{url}：发送 {n} 个检查点" + (f"；{problem}" if problem else ""))
        bad = bad or bool(problem)
    if bad:
        sys.exit(1)


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "output", type=click.Path(dir_okay=False, writable=True), default=None)
@click.option("--after", "after", type=click.IntRange(min=0), default=0, show_default=True,
              help="export only entries after this sequence number")
def audit_export(fmt: str, output: str | None, after: int) -> None:
    """Export every entry with the chain fields needed to verify it independently."""
    from hub.audit.export import export

    with app_context(), cli_actor():
        try:
            fh = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        except OSError as exc:
            fail(f"无法写入 {output}：{exc.strerror}", 2)
        try:
            n = export(fh, fmt, after=after)
        finally:
            if output:
                fh.close()
    if output:
        click.echo(f"已导出 {n} 条审计记录到 {output}", err=True)


@audit_group.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint of the current head now (run daily from cron when the trail is quiet)."""
    from hub.db import db

    with app_context() as app:
        w = app.extensions["hub_witness"]
        if audit.queue_in_use(db.session()) is not None:
            audit.seal_queue(db.engine, w)  # chain entries whose writer died before sealing them
        # Never sign a head that does not verify: that would vouch for tampered entries.
        res = audit.verify(db.session(), w)
        if not res.ok:
            fail(f"审计日志校验失败（第 {res.first_bad_seq} 条：{res.reason}），拒绝签名检查点", 1)
        try:
            line = audit.checkpoint_now(db.session(), w, "manual")
        except FileNotFoundError:
            fail("没有审计检查点签名密钥，请先运行 hub init", 1)
        db.session.remove()
    if line is None:
        click.echo("审计日志为空，无需检查点")
        return
    cp = line["checkpoint"]
    click.echo(f"已签名检查点：第 {cp['seq']} 条 {cp['hash']}（{cp['at']}，密钥 {cp['key']}）")


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


# -- supervision ----------------------------------------------------------------------------
@main.group()
def monitor() -> None:
    """The silence monitor (日常监测)."""


@monitor.command("run")
@click.option("--as-of", "as_of", default="", help="evaluate as of this Beijing date, YYYY-MM-DD (default today)")
def monitor_run(as_of: str) -> None:
    """Evaluate silence alerts and overdue rectifications as of a date."""
    from datetime import date

    from hub.errors import HubError
    from hub.oversight import jobs
    from hub.oversight import monitor as monitor_svc

    try:
        day = date.fromisoformat(as_of) if as_of else monitor_svc.today()
    except ValueError:
        fail(f"--as-of 应为 YYYY-MM-DD 格式的日期：{as_of}", 2)
        return
    with app_context(), cli_actor():
        try:
            counts = jobs.evaluate(day)
        except HubError as exc:
            fail(exc.message)
            return
    click.echo(f"监测（截至 {day.isoformat()}）：新预警 {counts['raised']}，升级 {counts['raised_level']}，"
               f"关闭 {counts['closed']}，整改逾期上报 {counts['escalated']}")


@main.group()
def metrics() -> None:
    """Read counts (阅读数据) pulled from the platforms."""


@metrics.command("pull")
@click.option("--day", "day_text", default="", help="the Beijing date the figures are of, YYYY-MM-DD (default yesterday)")
def metrics_pull(day_text: str) -> None:
    """Pull followers and each published item's figures from the platforms that give them."""
    from datetime import date

    from hub.db import db
    from hub.metrics import service

    try:
        day = date.fromisoformat(day_text) if day_text else service.default_day()
    except ValueError:
        fail(f"--day 应为 YYYY-MM-DD 格式的日期：{day_text}", 2)
        return
    if day > service.today():
        fail(f"--day 不能晚于今天（北京时间 {service.today().isoformat()}）", 2)
        return
    with app_context() as app, cli_actor():
        try:
            result = service.pull(app, day)
        finally:
            db.session.remove()
    click.echo(result.summary())
    if result.failed and len(result.failed) == result.accounts:
        sys.exit(1)


@main.group()
def report() -> None:
    """Reports (年度报表)."""


@report.command("annual")
@click.option("--year", type=int, required=True)
@click.option("--unit", "unit_code", required=True)
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True)
def report_annual(year: int, unit_code: str, fmt: str, output: str) -> None:
    """Write a unit's annual report (its subtree, one Beijing year) as HTML, PDF or XLSX."""
    from hub.db import db
    from hub.errors import HubError
    from hub.oversight import annual

    with app_context(), cli_actor():
        try:
            figures = annual.figures(db.session(), unit_code, year)
        except HubError as exc:
            fail(exc.message)
            return
        finally:
            db.session.remove()
    data = annual.render(figures, fmt)
    Path(output).write_bytes(data)
    click.echo(f"已写入 {output}（{figures['unit_name']} {year} 年，{len(figures['accounts'])} 个账号）")


def register(app: Flask) -> None:
    """Make every command reachable as ``flask --app hub <command>`` too."""
    for name, cmd in main.commands.items():
        app.cli.add_command(cmd, name)


