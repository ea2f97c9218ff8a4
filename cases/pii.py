"""Personal data at rest: phone and ID numbers sealed with a key from the environment.

The key is `PII_KEY`, a Fernet key (32 random bytes, url-safe base64). It reaches the code
through the session factory (`make_sessionmaker(engine, pii=PiiCipher(key))`); a session from a
factory built without one reads `PII_KEY` from the environment the first time it needs it.
Nothing is read at import time, and no function here logs a value it handles.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

PII_KEY_ENV = "PII_KEY"
# Where a session keeps its cipher (`Session.info`), set by `cases.db.make_sessionmaker`.
SESSION_INFO_KEY = "pii_cipher"
# Separates the lookup-hash key from the encryption key: same secret, different purposes.
_LOOKUP_KEY_INFO = b"petition-intake/pii-lookup/v1"
# Fernet tokens of values up to this many characters fit the 255-character column.
MAX_SEALED_CHARS = 64


class PiiError(Exception):
    """Personal data could not be sealed or opened."""


class PiiKeyError(PiiError, ValueError):
    """PII_KEY is missing or is not a Fernet key."""


class PiiDecryptError(PiiError):
    """A sealed value does not open with this key (wrong key, or the value was altered)."""


@dataclass(frozen=True)
class Sealed:
    """An encrypted value as stored (a Fernet token); only a `PiiCipher` can open it."""

    token: str

    def __repr__(self) -> str:
        """Keeps tokens out of reprs and tracebacks; they are long and useless to read."""
        return "Sealed(…)"


def check_key(key: str | bytes) -> bytes:
    """The key as bytes when it is a Fernet key (url-safe base64 of 32 bytes); else raises."""
    raw = key.encode("ascii", "replace") if isinstance(key, str) else key
    try:
        decoded = base64.urlsafe_b64decode(raw)
    except (binascii.Error, ValueError) as error:
        raise PiiKeyError(f"{PII_KEY_ENV} is not url-safe base64") from error
    if len(decoded) != 32:
        raise PiiKeyError(f"{PII_KEY_ENV} must encode 32 bytes (a Fernet key)")
    return raw


def generate_key() -> str:
    """A new random key, in the format PII_KEY expects."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


class PiiCipher:
    """Seals and opens personal data with one key, and computes keyed hashes for look-ups."""

    def __init__(self, key: str | bytes) -> None:
        """`key` is a Fernet key; PiiKeyError when it is not one."""
        raw = check_key(key)
        self._fernet = Fernet(raw)
        self._lookup_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=_LOOKUP_KEY_INFO
        ).derive(base64.urlsafe_b64decode(raw))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PiiCipher:
        """The cipher for PII_KEY in `environ` (default: the process environment)."""
        env = os.environ if environ is None else environ
        key = env.get(PII_KEY_ENV, "").strip()
        if not key:
            raise PiiKeyError(f"{PII_KEY_ENV} is not set: personal data cannot be stored")
        return cls(key)

    def seal(self, value: str) -> Sealed:
        """Encrypts `value` (at most MAX_SEALED_CHARS characters) for storage."""
        if len(value) > MAX_SEALED_CHARS:
            raise ValueError(f"values to seal are at most {MAX_SEALED_CHARS} characters")
        return Sealed(self._fernet.encrypt(value.encode("utf-8")).decode("ascii"))

    def open(self, sealed: Sealed) -> str:
        """Decrypts a stored value; PiiDecryptError when this key did not seal it."""
        try:
            return self._fernet.decrypt(sealed.token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as error:
            raise PiiDecryptError("sealed value does not open with this key") from error

    def lookup_hash(self, value: str) -> str:
        """HMAC-SHA256 of `value` under a key derived from PII_KEY, hex: equal in, equal out."""
        return hmac.new(self._lookup_key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        """Never shows the key."""
        return "PiiCipher(<key hidden>)"


def cipher_for(session: Session) -> PiiCipher:
    """The session's cipher: the one its factory was given, else one built from PII_KEY."""
    cipher = session.info.get(SESSION_INFO_KEY)
    if isinstance(cipher, PiiCipher):
        return cipher
    cipher = PiiCipher.from_env()
    session.info[SESSION_INFO_KEY] = cipher
    return cipher
