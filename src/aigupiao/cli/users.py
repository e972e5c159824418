"""``aigupiao user add|list|remove|passwd``: the dashboard's users, straight in the database.

Works on the configured database (``--config`` / ``AIGUPIAO_DATABASE_URL``) without a
running cloud; each change is audited with the actor ``cli:<OS user>``. A password is
read from stdin with ``--password-stdin``, else a random one is printed once.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from aigupiao.domain.users import InvalidUsername, Role
from aigupiao.store import AuditRepo, DuplicateName, UserRepo, UserSessionRepo
from aigupiao.store.passwords import MIN_PASSWORD_LENGTH, new_password

from . import ConfigOption, _fail, _with_session, console

user_app = typer.Typer(help="控制台用户 (dashboard users): admin / trader / viewer")

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="从标准输入读取密码（否则生成随机密码并只显示一次）"),
]

_ROLES_ZH = "admin（管理员）/ trader（交易员）/ viewer（只读）"


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _password(from_stdin: bool) -> tuple[str, bool]:
    """``(password, generated)``."""
    if not from_stdin:
        return new_password(), True
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise _fail(
            f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 "
            f"(the password needs at least {MIN_PASSWORD_LENGTH} characters)"
        )
    return password, False


def _show_password(name: str, password: str) -> None:
    console.print(f"用户 [bold]{name}[/bold] 的密码 (password; 只显示一次 shown once):")
    print(password)


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[Role, typer.Option(help=_ROLES_ZH)] = Role.VIEWER,
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
) -> None:
    """新建用户 (create a user)."""
    password, generated = _password(password_stdin)

    async def work(session: AsyncSession) -> None:
        await UserRepo(session).add(name, password, role)
        await AuditRepo(session).add(_actor(), "user.create", name, {"role": role.value})

    try:
        _with_session(config, work)
    except DuplicateName as exc:
        raise _fail(f"用户已存在 (user exists): {name}") from exc
    except InvalidUsername as exc:
        raise _fail(f"{exc.message_zh} ({exc.message_en})") from exc
    console.print(f"已创建用户 (created) {name}，角色 (role) {role.value}")
    if generated:
        _show_password(name, password)


@user_app.command("list")
def user_list(config: ConfigOption = None) -> None:
    """列出用户 (list users)."""
    rows = _with_session(config, lambda s: UserRepo(s).list())
    if not rows:
        console.print("没有用户 (no users): aigupiao user add NAME --role admin")
    for row in rows:
        console.print(f"{row['username']:<24} {row['role']:<8} created {row['created_at']}")


def _removal(name: str) -> Any:
    async def work(session: AsyncSession) -> str | None:
        users = UserRepo(session)
        user = await users.get(name)
        if user is None:
            return f"没有用户 {name} (no user {name})"
        if user["role"] == Role.ADMIN.value and set(await users.admins()) == {name}:
            return f"{name} 是最后一个管理员，不能删除 ({name} is the last admin)"
        await users.remove(name)
        await AuditRepo(session).add(_actor(), "user.remove", name, {"role": user["role"]})
        return None

    return work


@user_app.command("remove")
def user_remove(name: str, config: ConfigOption = None) -> None:
    """删除用户并立即结束其会话 (remove a user; their sessions end at once)."""
    problem = _with_session(config, _removal(name))
    if problem:
        raise _fail(problem)
    console.print(f"已删除 (removed): {name}")


@user_app.command("passwd")
def user_passwd(
    name: str, password_stdin: PasswordStdin = False, config: ConfigOption = None
) -> None:
    """修改密码并结束该用户的所有会话 (set a new password; ends the user's sessions)."""
    password, generated = _password(password_stdin)

    async def work(session: AsyncSession) -> int | None:
        if not await UserRepo(session).set_password(name, password):
            return None
        ended = await UserSessionRepo(session).end_all(name)
        detail = {"password": "changed", "sessions_ended": ended}
        await AuditRepo(session).add(_actor(), "user.update", name, detail)
        return ended

    ended = _with_session(config, work)
    if ended is None:
        raise _fail(f"没有用户 {name} (no user {name})")
    console.print(f"已修改密码 (password changed): {name}，结束会话 (sessions ended) {ended}")
    if generated:
        _show_password(name, password)
