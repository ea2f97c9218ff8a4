"""Tests of sealing personal data: the cipher, the key setting and the session's cipher."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cases.pii import (
    MAX_SEALED_CHARS,
    SESSION_INFO_KEY,
    PiiCipher,
    PiiDecryptError,
    PiiKeyError,
    Sealed,
    cipher_for,
    generate_key,
)
from cases.settings import Settings, SettingsError
from tests.casedb import TEST_PII_KEY


class TestPiiCipher:
    """PiiCipher."""

    def test_round_trip_without_plaintext_in_the_token(self) -> None:
        """A sealed phone opens to itself and its token does not contain the digits."""
        cipher = PiiCipher(TEST_PII_KEY)
        sealed = cipher.seal("13800138000")
        assert "13800138000" not in sealed.token
        assert cipher.open(sealed) == "13800138000"

    def test_same_value_seals_differently(self) -> None:
        """Two seals of one value differ, so equal phones cannot be spotted in the table."""
        cipher = PiiCipher(TEST_PII_KEY)
        assert cipher.seal("13800138000") != cipher.seal("13800138000")

    def test_other_key_cannot_open(self) -> None:
        """A token sealed under one key raises PiiDecryptError under another."""
        sealed = PiiCipher(TEST_PII_KEY).seal("13800138000")
        with pytest.raises(PiiDecryptError):
            PiiCipher(generate_key()).open(sealed)

    def test_altered_token_cannot_open(self) -> None:
        """A token changed in the database is detected, not decrypted to garbage."""
        cipher = PiiCipher(TEST_PII_KEY)
        token = cipher.seal("13800138000").token
        altered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
        with pytest.raises(PiiDecryptError):
            cipher.open(Sealed(altered))

    def test_lookup_hash_is_stable_keyed_and_not_the_plain_sha256(self) -> None:
        """Equal values hash equally under one key, differently under another key."""
        one, two = PiiCipher(TEST_PII_KEY), PiiCipher(generate_key())
        assert one.lookup_hash("13800138000") == one.lookup_hash("13800138000")
        assert one.lookup_hash("13800138000") != two.lookup_hash("13800138000")
        assert one.lookup_hash("13800138000") != one.lookup_hash("13800138001")
        assert len(one.lookup_hash("13800138000")) == 64

    def test_long_values_refused(self) -> None:
        """Values longer than the column can hold sealed are refused."""
        with pytest.raises(ValueError, match="at most"):
            PiiCipher(TEST_PII_KEY).seal("1" * (MAX_SEALED_CHARS + 1))

    @pytest.mark.parametrize("key", ["", "short", "x" * 44, "dGVzdA=="])
    def test_malformed_keys_refused(self, key: str) -> None:
        """A key that is not 32 bytes of url-safe base64 raises PiiKeyError."""
        with pytest.raises(PiiKeyError):
            PiiCipher(key)

    def test_reprs_hide_key_and_token(self) -> None:
        """Neither the key nor a token shows in a repr (and so in a traceback)."""
        cipher = PiiCipher(TEST_PII_KEY)
        assert TEST_PII_KEY not in repr(cipher)
        sealed = cipher.seal("13800138000")
        assert sealed.token not in repr(sealed)


class TestKeyFromTheEnvironment:
    """PII_KEY in the environment and in the settings."""

    def test_from_env_requires_the_key(self) -> None:
        """Without PII_KEY there is no default key: PiiKeyError."""
        with pytest.raises(PiiKeyError, match="PII_KEY"):
            PiiCipher.from_env({})

    def test_settings_read_the_key_and_hide_it(self) -> None:
        """Settings.from_env keeps PII_KEY, and the repr of the settings does not show it."""
        settings = Settings.from_env({"PII_KEY": TEST_PII_KEY, "CASES_API_TOKEN": "t" * 32})
        assert settings.pii_key == TEST_PII_KEY
        assert TEST_PII_KEY not in repr(settings) and "t" * 32 not in repr(settings)

    def test_settings_have_no_default_key(self) -> None:
        """Unset, the key is None rather than some built-in value."""
        assert Settings.from_env({}).pii_key is None

    def test_settings_refuse_a_malformed_key(self) -> None:
        """A malformed PII_KEY is a configuration error at start-up, not at first use."""
        with pytest.raises(SettingsError, match="PII_KEY"):
            Settings.from_env({"PII_KEY": "not-a-key"})


class TestSessionCipher:
    """cipher_for: the cipher a session seals with."""

    def test_factory_cipher_is_used(self) -> None:
        """A cipher put into the session by its factory is the one returned."""
        cipher = PiiCipher(TEST_PII_KEY)
        session = Session(info={SESSION_INFO_KEY: cipher})
        assert cipher_for(session) is cipher

    def test_environment_key_used_lazily(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a factory cipher, PII_KEY is read when first needed and kept."""
        monkeypatch.setenv("PII_KEY", TEST_PII_KEY)
        session = Session()
        first = cipher_for(session)
        monkeypatch.delenv("PII_KEY")
        assert cipher_for(session) is first
        assert first.open(PiiCipher(TEST_PII_KEY).seal("x")) == "x"

    def test_no_key_anywhere_raises(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With no factory cipher and no PII_KEY, using personal data raises PiiKeyError."""
        monkeypatch.delenv("PII_KEY", raising=False)
        with pytest.raises(PiiKeyError):
            cipher_for(Session())
