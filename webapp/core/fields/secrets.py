"""Sensitive fields, encrypted at rest (CONTRACT §7): the keyring, sealing, opening, masking.

A sensitive value is stored *sealed*: the string ``enc:v1:<key id>:<nonce and ciphertext>``
in the entity's ``data`` JSON, and so also in the history rows' data diffs, which are computed
from what is stored. Plaintext exists only between validation and sealing on the way in, and
on the way out for the roles that may read it.

Why AES-256-GCM (``cryptography``'s AEAD) with key ids of our own rather than Fernet: one C
call each way, about ten times faster than Fernet's Python recipe (measured here: 6.6 / 2.8 µs
to seal / open a phone number against 38 / 43 µs), which counts where values are opened in
bulk: a list page masking 500 rows, a bulk update checking 10,000 entities, a rotation of
1,000,000 values. It is authenticated (the header ``enc:v1:<key id>:`` too, as associated
data), and its one hazard, a repeated nonce, is out of reach: nonces are 96 random bits, safe
for billions of values per key, and a rotation starts a new key. Each value names the key
that sealed it (the first 8 hex digits of the key's SHA-256), so opening needs no trial
decryption, a rotation skips values already under the current key by looking at them, and
"does anything still use the old key?" is a ``LIKE`` query.

Sealing is randomised, so sealing the same value twice gives two tokens. ``seal`` therefore
keeps the stored token when the plaintext did not change: history diffs then show a change
only where there was one, and equal stored values still mean equal plaintexts (undo compares
them).

A unique sensitive field (user_account ``email``) cannot be compared in the database by its
token, so its sealed values carry a *blind index*: ``enc:v1:<key id>:<index>:<token>``, the
index being HMAC-SHA256 of the value's ``unique_text`` (an email in lower case) under a key
derived from the data key (HKDF), truncated to INDEX_HEX hex digits. Equal values under one
key have equal indexes, so "is this address taken?" is one prefix comparison in SQL
(``index_prefixes``: one prefix per key of the ring, as values under the old key keep the old
key's index until ``keys rotate`` re-seals them). The index is part of the header, which the
cipher authenticates. Values sealed before indexes existed (``enc:v1:<key id>:<token>``) still
open, and ``keys rotate`` gives them one.

The keyring lives on the StateManager (one per app). Its keys come from STATEKEEPER_DATA_KEY
(several comma-separated keys, newest first) or from ``<instance>/data_key``, made once with
a new key (mode 600) and re-read when ``keys rotate`` rewrites it, so running processes pick
up a new key within ``RELOAD_SECONDS``.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag

from webapp.core.base import keyfiles
from webapp.core.base.sealed import MASK, PREFIX, is_sealed, key_id
from webapp.core.fields.datakeys import (  # new_key, key_id_of: imported from here too
    KeyringError,
    Ring,
    key_id_of,
    new_key,
    parse_keys,
)
from webapp.core.fields.spec import unique_text

#: Shown instead of a sealed value no key of the keyring opens (a lost or wrong key).
UNREADABLE = f"{MASK} (cannot be decrypted: its key is missing)"
#: Characters of a value a masked view keeps at most (and never more than all but 4 of them).
TAIL = 4
NONCE_BYTES = 12
Specs = Mapping[str, Any]  # field name -> FieldSpec


class Unreadable(Exception):
    """No key of the keyring opens this sealed value."""


def has_index(sealed: str) -> bool:
    """Whether a sealed value carries a blind index (``enc:v1:<id>:<index>:<token>``)."""
    return sealed.count(":", len(PREFIX)) == 2


def mask(value: Any) -> str:
    """``••••`` and at most the last 4 characters, always hiding at least 4 of them."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    keep = min(TAIL, max(0, len(text) - TAIL))
    return MASK + (text[-keep:] if keep else "")


class Keyring:
    """The current key and the older ones still needed to open what they sealed."""

    #: How often a keyring kept in a file looks whether another process rewrote it.
    RELOAD_SECONDS = 1.0

    def __init__(self, keys: Sequence[str] = (), path: Path | None = None) -> None:
        """``keys`` newest first; or ``path``, the file that keeps them (read when first
        needed, made with a new key when missing)."""
        if not keys and path is None:
            raise KeyringError("A keyring needs keys or a file to keep them in.")
        self.path = path
        self._lock = threading.Lock()
        self._ring = Ring.of(parse_keys(",".join(keys))) if keys else None
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0

    @classmethod
    def from_settings(cls, data_key: str | None, instance_dir: Path) -> Keyring:
        """STATEKEEPER_DATA_KEY when set (checked now: a bad key stops the app at start),
        else the keys kept in ``<instance>/data_key``."""
        if data_key:
            return cls(parse_keys(data_key))
        return cls(path=Path(instance_dir) / "data_key")

    @classmethod
    def ephemeral(cls) -> Keyring:
        """A keyring with one key held in memory only: for a StateManager built without one
        (core tests, benchmarks). Nothing it seals can be read by another process."""
        return cls([new_key()])

    # -- keys ------------------------------------------------------------------------------
    @property
    def kept_in_file(self) -> bool:
        return self.path is not None

    @property
    def ids(self) -> tuple[str, ...]:
        """Key ids, the current one first."""
        return self._current().ids

    @property
    def current_id(self) -> str:
        return self.ids[0]

    @property
    def old_ids(self) -> tuple[str, ...]:
        return self.ids[1:]

    def add_key(self, key: str | None = None) -> str:
        """Make ``key`` (or a new one) the current key, keeping the others; saved to the key
        file. Returns its id."""
        key = parse_keys(key or new_key(), "the new key")[0]
        with self._lock:
            ring = self._load_locked()
            keys = [key, *(k for k in ring.keys if k != key)]
            self._save_locked(keys)
        return key_id_of(key)

    def drop_keys(self, ids: Iterable[str]) -> None:
        """Forget the keys with these ids (never the current one); saved to the key file."""
        drop = set(ids)
        with self._lock:
            ring = self._load_locked()
            if ring.ids[0] in drop:
                raise KeyringError("The current key cannot be dropped.")
            self._save_locked([k for i, k in zip(ring.ids, ring.keys, strict=True) if i not in drop])

    # -- one value -------------------------------------------------------------------------
    def seal_value(self, value: Any, unique: str | None = None) -> str:
        """``value`` (any JSON value) sealed under the current key; with the blind index of
        ``unique`` (the value's ``unique_text``) when given."""
        ring = self._current()
        kid = ring.ids[0]
        header = ring.header(kid, unique)
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        body = nonce + ring.ciphers[kid].encrypt(nonce, plain, header.encode())
        return header + base64.urlsafe_b64encode(body).decode().rstrip("=")

    def open_value(self, sealed: str) -> Any:
        """The value inside; raises Unreadable when no key of the keyring opens it."""
        kid = key_id(sealed)
        try:
            cipher = self._current().ciphers.get(kid) or self._reloaded().ciphers.get(kid)
        except KeyringError:  # an unusable key file: reads show what they cannot open
            cipher = None
        if cipher is None:
            raise Unreadable(kid)
        header = sealed[:sealed.rindex(":") + 1]  # with the blind index, when there is one
        text = sealed[len(header):]
        try:
            body = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            plain = cipher.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], header.encode())
            return json.loads(plain)
        except (InvalidTag, binascii.Error, ValueError):
            raise Unreadable(kid) from None

    def reseal(self, sealed: str, spec: Any = None) -> str | None:
        """``sealed`` under the current key, with a blind index when ``spec`` is a unique
        field's; None when it already is so, or cannot be opened."""
        indexed = _indexed(spec)
        if key_id(sealed) == self.current_id and has_index(sealed) == indexed:
            return None
        try:
            plain = self.open_value(sealed)
        except Unreadable:
            return None
        return self.seal_value(plain, unique_text(spec, plain) if indexed else None)

    def index_prefixes(self, unique: str) -> list[str]:
        """How a value whose ``unique_text`` is ``unique`` begins when sealed under each key of
        the ring (all of one length): the prefixes a uniqueness check looks for."""
        ring = self._current()
        return [ring.header(kid, unique) for kid in ring.ids]

    # -- a type's data ---------------------------------------------------------------------
    def seal(self, specs: Specs, new_plain: Mapping[str, Any],
             old_stored: Mapping[str, Any] | None = None,
             opened: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validated data as it is stored: each sensitive field's value sealed, keeping the
        stored token where the value did not change. Call it after validation, with the
        entity's stored data (None when creating); ``opened`` remembers the tokens opened
        (the one ``unseal`` filled: a stored token is then decrypted once per write)."""
        old = old_stored if isinstance(old_stored, Mapping) else {}
        out = dict(new_plain)
        for name, spec in specs.items():
            value = out.get(name)
            if value is None:
                continue
            if _sensitive(spec):
                out[name] = self._seal_field(value, old.get(name), spec, opened)
            elif isinstance(value, list) and _has_sensitive(_items(spec)):
                before = old.get(name) if isinstance(old.get(name), list) else []
                out[name] = [self.seal(_items(spec), item, before[i] if i < len(before) else None,
                                       opened)
                             if isinstance(item, Mapping) else item
                             for i, item in enumerate(value)]
        return out

    def _seal_field(self, value: Any, stored: Any, spec: Any,
                    opened: dict[str, Any] | None) -> Any:
        if is_sealed(value) and (value == stored or
                                 self._open_or(value, UNREADABLE, opened) is not UNREADABLE):
            return value  # already sealed by us (a stored value passed through unchanged)
        if is_sealed(stored) and self._open_or(stored, UNREADABLE, opened) == value:
            return stored
        return self.seal_value(value, unique_text(spec, value) if _indexed(spec) else None)

    def seal_named(self, names: Iterable[str], data: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` with the values of these keys sealed: for a request kept until it runs
        (a bulk update's ``update_data``, whose keys may belong to several types; see
        ``sensitive_names``). ``unseal`` opens it again."""
        wanted = set(names)
        return {k: self.seal_value(v) if k in wanted and v is not None and not is_sealed(v)
                else v for k, v in data.items()}

    def unseal(self, specs: Specs, data: Any, opened: dict[str, Any] | None = None) -> Any:
        """``data`` with every sealed value opened (UNREADABLE where no key opens it), each
        token remembered in ``opened`` when given.

        Sealed values are found by their form, so a field no longer declared sensitive still
        reads; ``specs`` is taken for symmetry with ``seal`` and ``view_for``. Data holding no
        sealed value (most rows) is returned as it is, not copied: a list page's 50 rows or a
        bulk chunk's 1,000 skip the walk."""
        if not holds_sealed(data):
            return data
        return self._view(data, specs, lambda value: self._open_or(value, UNREADABLE, opened)
                          if is_sealed(value) else value)

    def view_for(self, may_see: bool, specs: Specs, data: Any) -> Any:
        """``data`` as a person sees it: opened when ``may_see`` (the role may operate), else
        every sealed value, and any plaintext value of a sensitive field, masked."""
        if may_see:
            return self.unseal(specs, data)
        return self._view(data, specs, self._masked)

    def view_meta(self, may_see: bool, specs: Specs, meta: Any) -> Any:
        """A history row's metadata, its data diff shown as ``view_for`` shows data."""
        if not isinstance(meta, Mapping):
            return meta
        shown = self.view_for(may_see, {}, {k: v for k, v in meta.items() if k != "data"})
        diff = meta.get("data")
        if isinstance(diff, Mapping):
            shown["data"] = {side: self.view_for(may_see, specs, values)
                             for side, values in diff.items()}
        elif "data" in meta:
            shown["data"] = diff
        return shown

    def _masked(self, value: Any) -> Any:
        if not is_sealed(value):
            return mask(value)
        try:
            return mask(self.open_value(value))
        except Unreadable:
            return UNREADABLE

    def _view(self, data: Any, specs: Specs, show: Callable[[Any], Any]) -> Any:
        """A copy of ``data`` with ``show`` applied to each sensitive or sealed value."""
        if not isinstance(data, Mapping):
            return _each_sealed(data, show)
        out = {}
        for name, value in data.items():
            spec = specs.get(name)
            if value is not None and _sensitive(spec):
                out[name] = show(value)
            elif isinstance(value, list) and _items(spec):
                out[name] = [self._view(item, _items(spec), show) for item in value]
            else:
                out[name] = _each_sealed(value, show)
        return out

    def _open_or(self, sealed: str, default: Any, opened: dict[str, Any] | None = None) -> Any:
        if opened is not None and sealed in opened:
            return default if opened[sealed] is UNREADABLE else opened[sealed]
        try:
            value = self.open_value(sealed)
        except Unreadable:
            value = UNREADABLE
        if opened is not None:
            opened[sealed] = value
        return default if value is UNREADABLE else value

    # -- where the keys are kept -----------------------------------------------------------
    def _current(self) -> Ring:
        if self.path is None:
            return self._ring  # type: ignore[return-value]
        if self._ring is None or time.monotonic() - self._checked > self.RELOAD_SECONDS:
            with self._lock:
                return self._load_locked()
        return self._ring

    def _reloaded(self) -> Ring:
        """The keys as the file has them now (a key we do not know may have been added)."""
        if self.path is None:
            return self._current()
        with self._lock:
            self._checked = 0.0
            return self._load_locked()

    def _load_locked(self) -> Ring:
        if self.path is None:
            return self._ring  # type: ignore[return-value]
        self._checked = time.monotonic()
        if not self.path.exists():
            keyfiles.write_once(self.path, new_key() + "\n")
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if self._ring is None or stamp != self._stamp:
            self._ring = Ring.of(parse_keys(self.path.read_text(), str(self.path)))
            self._stamp = stamp
        return self._ring

    def _save_locked(self, keys: Sequence[str]) -> None:
        if self.path is None:
            raise KeyringError("The keys come from STATEKEEPER_DATA_KEY: change that variable "
                               "in the environment of every process instead.")
        keyfiles.replace(self.path, "\n".join(keys) + "\n")
        self._stamp = None
        self._load_locked()


def sensitive_names(types_specs: Iterable[Specs]) -> set[str]:
    """The field names sensitive in any of these types' specs."""
    return {name for specs in types_specs for name, spec in specs.items() if _sensitive(spec)}


def seals_any(specs: Specs) -> bool:
    """Whether ``Keyring.seal`` could seal anything of data with these fields."""
    return any(_sensitive(s) or _has_sensitive(_items(s)) for s in specs.values())


def holds_sealed(value: Any) -> bool:
    """Whether a sealed value is anywhere in ``value`` (else ``unseal`` would only copy it)."""
    if isinstance(value, str):
        return value.startswith(PREFIX)
    if isinstance(value, Mapping):
        return any(holds_sealed(v) for v in value.values())
    return isinstance(value, list) and any(holds_sealed(v) for v in value)


def _sensitive(spec: Any) -> bool:
    # Specs are FieldSpecs; a workflow stored before fields were declared may hold older rules.
    return bool(getattr(spec, "sensitive", False))


def _indexed(spec: Any) -> bool:
    """A top-level sensitive unique field: its sealed values carry a blind index."""
    return _sensitive(spec) and bool(getattr(spec, "unique", False))


def _items(spec: Any) -> Specs:
    return getattr(spec, "item_fields", None) or {}


def _has_sensitive(specs: Specs) -> bool:
    return any(_sensitive(s) for s in specs.values())


def _each_sealed(value: Any, show: Callable[[Any], Any]) -> Any:
    if isinstance(value, Mapping):
        return {k: _each_sealed(v, show) for k, v in value.items()}
    if isinstance(value, list):
        return [_each_sealed(v, show) for v in value]
    return show(value) if is_sealed(value) else value
