"""Passwords: hashed with Argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane), and checked before use.

A new password (a member created, a password reset or changed, a user made on the command line) must have at
least 8 characters and must not be a common one: the 30,000 most common passwords of the leaked-password
list that zxcvbn ships (Dropbox's strength estimator, PyPI "zxcvbn"), plus the ones Vietnamese users pick
first. Compared without case and surrounding spaces, after Unicode NFC (a Vietnamese keyboard may type
"mậtkhẩu" either way).
"""
import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from wtforms.validators import ValidationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this when the username is unknown keeps the answer time the same.
_DUMMY = _hasher.hash("không có tài khoản này")

MIN_LENGTH = 8
MAX_LENGTH = 128  # long passphrases are welcome; a megabyte of "password" is not
VIETNAMESE_COMMON = frozenset({
    "12345678", "123456789", "1234567890", "87654321", "11111111", "00000000", "88888888", "66666666",
    "password", "password1", "passw0rd", "matkhau", "matkhau1", "matkhau123", "matkhau@123", "abc12345",
    "abcd1234", "qwerty123", "qwertyui", "12345678a", "a12345678", "iloveyou", "admin123", "vietnam123",
    "vietnam", "anhyeuem", "anhyeuem123", "emyeuanh", "yeuemnhieu", "123456aa", "aa123456", "hanoi123",
    "saigon123", "matkhaumoi", "thanhvien", "thanhvien123", "totruong", "totruong123", "canbo123",
    "congnghe", "congngheso", "congngheso123", "chuyendoiso", "12341234", "11223344", "147258369",
})


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Read once, on the first password checked (the list is large; most requests never need it)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS
    return frozenset(FREQUENCY_LISTS["passwords"]) | VIETNAMESE_COMMON


def password_problem(password: str | None) -> str | None:
    """What is wrong with a new password, in Vietnamese; None when it may be used."""
    value = unicodedata.normalize("NFC", password or "")
    if len(value) < MIN_LENGTH:
        return _("Mật khẩu phải có ít nhất %(n)s ký tự.", n=MIN_LENGTH)
    if len(value) > MAX_LENGTH:
        return _("Mật khẩu dài tối đa %(n)s ký tự.", n=MAX_LENGTH)
    if value.strip().lower() in common_passwords():
        return _("Mật khẩu này quá phổ biến, hãy chọn mật khẩu khác.")
    return None


def new_password(_form, field) -> None:
    """WTForms validator for a password being set (created, reset or changed)."""
    problem = password_problem(field.data)
    if problem:
        raise ValidationError(problem)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
