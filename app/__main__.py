"""Command line: python -m app serve | migrate | demo | create-admin | create-hall | add-chair | backup | audit verify | ballot verify | jobs run-once | jobs list."""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlmodel import select

from app.config import ROOT, get_settings
from app.web.links import lan_addresses_in_order, pick_lan_origin


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def migrate(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


def _lan_addresses() -> list[str]:
    """This machine's IPv4 addresses, read from its interfaces (no packet is sent)."""
    found: set[str] = set()
    try:
        import fcntl
        import struct

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _, name in socket.if_nameindex():
                try:
                    packed = fcntl.ioctl(
                        sock.fileno(), 0x8915, struct.pack("256s", name[:15].encode())
                    )  # SIOCGIFADDR
                except OSError:
                    continue
                found.add(socket.inet_ntoa(packed[20:24]))
    except (ImportError, OSError):
        pass
    with contextlib.suppress(OSError):
        hostname = socket.gethostname()
        found |= {str(i[4][0]) for i in socket.getaddrinfo(hostname, None, socket.AF_INET)}
    return sorted(a for a in found if not a.startswith("127."))


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app import demo
    from app.db import Database

    settings = get_settings()
    migrate(settings.database_url)
    db = Database.connect(settings.database_url)
    try:
        if args.demo:
            with db.session() as session:
                if demo.is_empty(session):
                    print("首次启动：正在生成演示社区数据 …")
                    demo.seed(session)
    finally:
        db.dispose()
    port = args.port or settings.port
    host = args.host or settings.host
    print("\n议事厅已启动。用同一 Wi-Fi 下的手机打开：")
    addresses = lan_addresses_in_order(_lan_addresses())
    for address in addresses:
        print(f"  http://{address}:{port}/")
    if not addresses:
        print("  （没有找到局域网地址：请确认电脑已连上 Wi-Fi）")
    print(f"  http://127.0.0.1:{port}/ （本机）")
    if settings.public_origin:
        print(f"\n打印的二维码和链接使用 {settings.public_origin}（YST_PUBLIC_ORIGIN）")
    elif Path("/.dockerenv").exists():
        # A container's interfaces are its own, not the office Wi-Fi's: links follow the
        # address the chair's browser used, and print views warn while that is loopback.
        print("\n在容器中运行：请设置 YST_PUBLIC_ORIGIN 为手机能打开的地址，打印的二维码才能扫开")
    else:
        lan = pick_lan_origin(addresses, port, host=host, https=settings.https)
        if lan:
            # The app (in this process or in each worker) reads it through get_settings().
            os.environ["YST_LAN_ORIGIN"] = lan
            get_settings.cache_clear()
            print(f"\n打印的二维码和链接使用 {lan}（可用 YST_PUBLIC_ORIGIN 指定别的地址）")
        else:
            print("\n注意：手机连不上这个地址，打印的二维码和链接打不开；请设置 YST_PUBLIC_ORIGIN")
    if args.demo:
        print("\n演示账号（密码均为 " + demo.DEMO_PASSWORD + "）：")
        for phone, name, role in demo.DEMO_LOGINS:
            print(f"  {phone}  {name}（{role}）")
    print()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        log_level="info",
        proxy_headers=False,
    )
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    migrate(get_settings().database_url)
    print("数据库已升级到最新版本")
    return 0


def cmd_demo(_: argparse.Namespace) -> int:
    from app import demo
    from app.db import Database

    settings = get_settings()
    migrate(settings.database_url)
    db = Database.connect(settings.database_url)
    with db.session() as session:
        if not demo.is_empty(session):
            print("数据库里已有数据，未生成演示数据")
            return 1
        demo.seed(session)
    db.dispose()
    print("演示数据已生成")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from app.accounts import service
    from app.core.errors import ValidationFailed
    from app.db import Database

    settings = get_settings()
    db = Database.connect(settings.database_url)
    with db.session() as session:
        try:
            user, one_time = service.create_admin(session=session, phone=args.phone, name=args.name)
        except ValidationFailed as exc:
            print(f"无法创建：{exc.errors}", file=sys.stderr)
            return 2
    db.dispose()
    print(f"平台管理员 {user.name} 已创建。一次性密码（首次登录后必须修改）：{one_time}")
    return 0


def cmd_create_hall(args: argparse.Namespace) -> int:
    from app.db import Database
    from app.halls import service
    from app.halls.models import Street

    settings = get_settings()
    db = Database.connect(settings.database_url)
    with db.session() as session:
        street = session.exec(select(Street).where(Street.name == args.street)).first()
        if street is None:
            street = service.create_street(
                session=session, district=args.district, name=args.street, actor_id=None
            )
        hall = service.create_hall(
            session=session,
            street=street,
            name=args.name,
            address=args.address,
            actor_id=None,
            invite_days=settings.invite_days,
        )
    db.dispose()
    print(f"议事厅已创建，编号 {hall.id}")
    return 0


def cmd_add_chair(args: argparse.Namespace) -> int:
    from app.accounts.models import User
    from app.db import Database
    from app.halls import service
    from app.halls.models import Hall
    from app.halls.policies import HallAccess

    settings = get_settings()
    db = Database.connect(settings.database_url)
    with db.session() as session:
        hall = session.get(Hall, args.hall)
        user = session.exec(select(User).where(User.phone == args.phone)).first()
        if hall is None or user is None:
            print("没有找到这个议事厅或这个手机号的账号（请先让对方注册）", file=sys.stderr)
            return 2
        access = HallAccess(user_id=None, hall_id=hall.id or 0, is_platform_admin=True)
        service.appoint_chair(session=session, access=access, actor_id=None, hall=hall, user=user)
    db.dispose()
    print("已设为主持人")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from app import backup

    settings = get_settings()
    path = backup.backup(settings.database_url, Path(args.path))
    print(f"备份已写入 {path}")
    return 0


def cmd_audit_verify(_: argparse.Namespace) -> int:
    from app.audit import service
    from app.db import Database

    db = Database.connect(get_settings().database_url)
    with db.session(read_only=True) as session:
        verdict = service.verify_chain(session)
    db.dispose()
    if verdict.ok:
        print(f"审计链完整：{verdict.checked} 条记录，链头 {verdict.head}")
        return 0
    print(
        f"审计链在第 {verdict.broken_height} 条断开（{verdict.reason}）；此前 {verdict.checked} 条完好",
        file=sys.stderr,
    )
    return 1


def cmd_ballot_verify(args: argparse.Namespace) -> int:
    from app.db import Database
    from app.voting import queries

    db = Database.connect(get_settings().database_url)
    try:
        with db.session(read_only=True) as session:
            result = queries.verify_ballot(session, args.ballot_id, expect_head=args.expect_head)
    finally:
        db.dispose()
    if result.ok:
        recount = "；结果已按账本复算，与冻结的结果逐字节一致" if result.recounted else ""
        anchor = f"；发布过的链头 {args.expect_head} 在链中" if args.expect_head else ""
        print(
            f"表决 {args.ballot_id} 核验通过：账本 {result.checked} 条记录完整，链头 {result.head}；"
            f"投票人名单哈希一致；当前 {result.votes} 票与账本一致{recount}{anchor}"
        )
        return 0
    print(
        f"表决 {args.ballot_id} 核验未通过，发现 {len(result.problems)} 处问题：", file=sys.stderr
    )
    for problem in result.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


def cmd_jobs_run_once(args: argparse.Namespace) -> int:
    from app.db import Database
    from app.jobs import runner

    db = Database.connect(get_settings().database_url)
    try:
        outcomes = runner.run_once(db, force=args.force)
    finally:
        db.dispose()
    words = {"ran": "已运行", "not_due": "未到期或正由其他进程运行", "lost": "租约已被接管"}
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"{outcome.job}: 失败（{outcome.error}）", file=sys.stderr)
        elif outcome.status == "ran":
            print(f"{outcome.job}: {words['ran']}，处理 {outcome.count} 项")
        else:
            print(f"{outcome.job}: {words[outcome.status]}")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def cmd_jobs_list(_: argparse.Namespace) -> int:
    from app.db import Database
    from app.jobs import runner
    from app.jobs.registry import JOBS

    db = Database.connect(get_settings().database_url)
    try:
        leases = runner.leases(db)
    finally:
        db.dispose()
    for name, job in JOBS.items():
        row = leases.get(name)
        minutes = int(job.every.total_seconds() // 60)
        print(f"{name}  每 {minutes} 分钟  {job.description}")
        if row is None:
            print("  尚未运行")
            continue
        last = row.last_started_at.isoformat() if row.last_started_at else "—"
        result = f"错误：{row.last_error}" if row.last_error else f"处理 {row.last_count or 0} 项"
        held = f"；正由 {row.holder[:8]} 运行至 {row.leased_until}" if row.holder else ""
        print(f"  已运行 {row.runs} 次，上次开始 {last}，{result}{held}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="议事厅")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate and serve on the LAN")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="seed the demo community on first start")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="seed the demo community into an empty database").set_defaults(
        func=cmd_demo
    )
    admin = sub.add_parser("create-admin", help="create a platform admin with a one-time password")
    admin.add_argument("--phone", required=True)
    admin.add_argument("--name", required=True)
    admin.set_defaults(func=cmd_create_admin)
    hall = sub.add_parser("create-hall", help="create a 社区议事厅 (and its street)")
    hall.add_argument("--district", required=True)
    hall.add_argument("--street", required=True)
    hall.add_argument("--name", required=True)
    hall.add_argument("--address", default="")
    hall.set_defaults(func=cmd_create_hall)
    chair = sub.add_parser("add-chair", help="make a registered person the chair of a hall")
    chair.add_argument("--hall", type=int, required=True)
    chair.add_argument("--phone", required=True)
    chair.set_defaults(func=cmd_add_chair)
    backup = sub.add_parser("backup", help="online backup (SQLite backup API or pg_dump)")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_backup)
    audit = sub.add_parser("audit", help="audit trail tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="recompute the hash chain").set_defaults(
        func=cmd_audit_verify
    )
    ballot = sub.add_parser("ballot", help="ballot tools")
    ballot_sub = ballot.add_subparsers(dest="ballot_command", required=True)
    ballot_verify = ballot_sub.add_parser(
        "verify", help="recompute a ballot's chain, roll hash, current votes and result"
    )
    ballot_verify.add_argument("ballot_id", type=int, metavar="ID")
    ballot_verify.add_argument(
        "--expect-head",
        metavar="HASH",
        help="a head published earlier: it must still be in the chain",
    )
    ballot_verify.set_defaults(func=cmd_ballot_verify)
    jobs = sub.add_parser("jobs", help="periodic jobs (the app runs them every few minutes)")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    run_once = jobs_sub.add_parser(
        "run-once", help="run every due job once (one process of several runs each)"
    )
    run_once.add_argument(
        "--force", action="store_true", help="run even if already run in the current period"
    )
    run_once.set_defaults(func=cmd_jobs_run_once)
    jobs_sub.add_parser("list", help="the jobs and their last runs").set_defaults(
        func=cmd_jobs_list
    )
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
