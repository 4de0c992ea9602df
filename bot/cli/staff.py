"""``create-staff``: staff accounts of the console from the command line; the first admin of a dev run."""

from __future__ import annotations

import getpass
import sys
from typing import Optional

from bot.settings import Settings


def create_staff_cmd(username: str, role: str, display_name: str, password: Optional[str] = None) -> int:
    """Create an account; the password is asked for (or generated with ``--random-password``) and never logged."""
    from bot.db.session import session_scope, upgrade
    from bot.staff.accounts import AccountError, create_user, random_password

    if password == "":
        password = random_password()
        shown = True
    else:
        shown = False
        if password is None:
            password = getpass.getpass("Mật khẩu (ít nhất 10 ký tự): ")
    upgrade()
    try:
        with session_scope() as session:
            create_user(session, username, password, role, display_name, actor="cli")
    except AccountError as exc:
        print(f"Không tạo được tài khoản: {exc}", file=sys.stderr)
        return 1
    print(f"Đã tạo tài khoản {username.strip().lower()} ({role})."
          + (f" Mật khẩu: {password} — chỉ hiện một lần, hãy đổi sau khi đăng nhập." if shown else ""))
    return 0


def ensure_dev_admin(settings: Settings) -> Optional[str]:
    """In development, create ``admin`` with a random password when no staff account exists.

    Returns:
        The new password (to be shown once), or None when nothing was created.
    """
    if not settings.is_development:
        return None
    from sqlalchemy import func, select

    from bot.db.models_staff import StaffUser
    from bot.db.session import session_scope
    from bot.staff.accounts import create_user, random_password

    with session_scope() as session:
        if session.execute(select(func.count(StaffUser.id))).scalar_one():
            return None
        password = random_password()
        create_user(session, "admin", password, "admin", "Quản trị viên", actor="serve")
        return password


def announce_console(settings: Settings) -> None:
    """Print where the console is, and the first admin's password when one was just created."""
    url = f"http://{settings.console_host}:{settings.console_port}/console/"
    password = ensure_dev_admin(settings)
    print(f"Staff console on {url}", flush=True)
    if password:
        print(f"  First admin account: admin / {password}  (shown once; create others under 'Tài khoản')",
              flush=True)
