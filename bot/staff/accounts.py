"""Staff accounts: creation, argon2 password checks, login lock-out, roles."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.db.models_staff import ROLES, StaffUser
from bot.staff.audit import record

logger = logging.getLogger(__name__)

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
# A hash to check against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))


class AccountError(ValueError):
    """An account cannot be created or changed as asked (the message says why, in Vietnamese)."""


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a login attempt: the user on success, else why not (``bad`` or ``locked``)."""

    user: Optional[StaffUser]
    problem: Optional[str] = None
    locked_until: Optional[dt.datetime] = None


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _hasher.hash(password)


def check_new_password(password: str) -> None:
    """Refuse a password that is too short or blank.

    Raises:
        AccountError: saying what is wrong.
    """
    if len(password or "") < MIN_PASSWORD_LENGTH or not password.strip():
        raise AccountError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.")


def create_user(session: Session, username: str, password: str, role: str, display_name: str = "",
                actor: str = "system") -> StaffUser:
    """Create a staff account (audited).

    Raises:
        AccountError: unknown role, bad username or password, or the username is taken.
    """
    username = (username or "").strip().lower()
    if role not in ROLES:
        raise AccountError(f"Vai trò không hợp lệ: {role}")
    if not username or len(username) > 64 or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise AccountError("Tên đăng nhập chỉ gồm chữ, số, dấu chấm, gạch dưới hoặc gạch ngang.")
    check_new_password(password)
    if session.execute(select(StaffUser.id).where(StaffUser.username == username)).first():
        raise AccountError(f"Tên đăng nhập {username} đã có.")
    user = StaffUser(username=username, display_name=(display_name or username).strip()[:120],
                     password_hash=hash_password(password), role=role, active=True, failed_logins=0)
    session.add(user)
    session.flush()
    record(session, actor, "create", "staff_user", username, None, {"role": role, "display_name": user.display_name})
    return user


def authenticate(session: Session, username: str, password: str, now: Optional[dt.datetime] = None) -> LoginResult:
    """Check a login; counts failures and locks the account for a while after too many."""
    now = now or utcnow()
    user = session.execute(select(StaffUser).where(StaffUser.username == (username or "").strip().lower())
                           ).scalar_one_or_none()
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return LoginResult(None, "bad")
    if user.locked_until and user.locked_until > now:
        return LoginResult(None, "locked", user.locked_until)
    if not _verify(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            logger.warning("staff account locked after %d failed logins (id %s)", MAX_FAILED_LOGINS, user.id)
            return LoginResult(None, "locked", user.locked_until)
        return LoginResult(None, "bad")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginResult(user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def list_users(session: Session) -> List[StaffUser]:
    """Every staff account, by username."""
    return list(session.execute(select(StaffUser).order_by(StaffUser.username)).scalars())


def count_admins(session: Session) -> int:
    """How many active admin accounts exist."""
    return int(session.execute(select(func.count(StaffUser.id)).where(
        StaffUser.role == "admin", StaffUser.active.is_(True))).scalar_one())


def set_role(session: Session, user_id: int, role: str, actor: str) -> StaffUser:
    """Change an account's role (audited); the last admin cannot lose the role.

    Raises:
        AccountError: unknown role or account, or the change would leave no admin.
    """
    if role not in ROLES:
        raise AccountError(f"Vai trò không hợp lệ: {role}")
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountError("Không có tài khoản này.")
    if user.role == "admin" and role != "admin" and count_admins(session) <= 1:
        raise AccountError("Phải còn ít nhất một quản trị viên.")
    before = user.role
    user.role = role
    record(session, actor, "set_role", "staff_user", user.username, {"role": before}, {"role": role})
    return user


def set_active(session: Session, user_id: int, active: bool, actor: str) -> StaffUser:
    """Enable or disable an account (audited); the last admin cannot be disabled.

    Raises:
        AccountError: unknown account, or the change would leave no admin.
    """
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountError("Không có tài khoản này.")
    if not active and user.role == "admin" and user.active and count_admins(session) <= 1:
        raise AccountError("Phải còn ít nhất một quản trị viên.")
    before = user.active
    user.active = active
    record(session, actor, "set_active", "staff_user", user.username, {"active": before}, {"active": active})
    return user


def random_password() -> str:
    """A random password for a new account (shown once)."""
    return secrets.token_urlsafe(15)
