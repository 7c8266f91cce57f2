"""The data keys themselves: their text form, ids, and the ring a Keyring holds at one moment.

A key is 32 random bytes in URL-safe base64 (STATEKEEPER_DATA_KEY or ``instance/data_key``,
several newest first). Its id is the first 8 hex digits of its SHA-256. From each key come an
AES-256-GCM cipher (``secrets`` seals with it) and a blind-index key, derived with HKDF so
that an index never says anything about the data key, and so that the index changes with the
key: ``keys rotate`` recomputes every index under the new key.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from webapp.core.base.sealed import PREFIX

KEY_BYTES = 32
#: Hex digits of a blind index kept (96 bits: no two of a billion values collide by chance).
INDEX_HEX = 24
_INDEX_INFO = b"statekeeper blind index v1"


class KeyringError(ValueError):
    """The keys given cannot be used (not data keys, or an empty key file)."""


def new_key() -> str:
    """A fresh random key, as STATEKEEPER_DATA_KEY and the key file hold it: 32 random bytes
    in URL-safe base64."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def key_id_of(key: str) -> str:
    return hashlib.sha256(_key_bytes(key)).hexdigest()[:8]


def parse_keys(text: str, where: str = "STATEKEEPER_DATA_KEY") -> list[str]:
    """Keys separated by commas or new lines, newest first; each 32 bytes in base64."""
    keys = [k.strip() for k in text.replace("\n", ",").split(",") if k.strip()]
    if not keys:
        raise KeyringError(f"{where} holds no key.")
    for number, key in enumerate(keys, 1):
        try:
            _key_bytes(key)
        except ValueError:
            raise KeyringError(
                f"Key {number} of {where} is not a data key (32 random bytes in URL-safe "
                f"base64, 44 characters); `flask --app wsgi keys generate` prints a new one."
            ) from None
    return keys


def _key_bytes(key: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError("not 32 bytes")
    return raw


def _index_key(raw: bytes) -> bytes:
    """The blind-index key of a data key: derived, so the index never reveals the data key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INDEX_INFO).derive(raw)


@dataclass(frozen=True)
class Ring:
    """The keys at one moment: ids newest first, and a cipher and blind-index key per id."""

    ids: tuple[str, ...]
    ciphers: Mapping[str, AESGCM]
    keys: tuple[str, ...]
    index_keys: Mapping[str, bytes]

    @classmethod
    def of(cls, keys: Sequence[str]) -> Ring:
        ids = tuple(key_id_of(k) for k in keys)
        raw = {i: _key_bytes(k) for i, k in zip(ids, keys, strict=True)}
        return cls(ids, {i: AESGCM(r) for i, r in raw.items()}, tuple(keys),
                   {i: _index_key(r) for i, r in raw.items()})

    def header(self, kid: str, unique: str | None) -> str:
        if unique is None:
            return f"{PREFIX}{kid}:"
        index = hmac.new(self.index_keys[kid], unique.encode(), hashlib.sha256).hexdigest()
        return f"{PREFIX}{kid}:{index[:INDEX_HEX]}:"
