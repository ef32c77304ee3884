"""The log's checkpoints in the transparency ecosystem's text formats: C2SP *signed-note*
(text signed by named keys), *tlog-checkpoint* (the origin, tree size and root hash as a
note's text) and *tlog-cosignature* (a witness's timestamped Ed25519 cosignature).

A note is its text (ending in a newline), a blank line, then one line per signature:
``— <key name> base64(key id ‖ signature)``. A key is known by its name and a 4-byte id,
``SHA-256(name ‖ "\\n" ‖ type ‖ public key)[:4]``, and is published as a *verifier key*
``<name>+<id, 8 hex>+base64(type ‖ public key)``. Type 0x01 signs the note's text with
Ed25519; type 0x04 (a witness's cosignature) signs ``cosignature/v1\\ntime <t>\\n`` and
the text, and its signature is the 8-byte big-endian time ``t`` then the Ed25519 one.

Only formats live here: the Ed25519 arithmetic is passed in (``Sign``, ``Verify``), so
that this module holds no key and needs no crypto library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

ED25519 = 0x01
COSIGNATURE = 0x04  # tlog-cosignature/v1, Ed25519 with a timestamp
KINDS = {ED25519: "Ed25519 note signature", COSIGNATURE: "Ed25519 cosignature (tlog-cosignature/v1)"}
MAX_SIGNATURES = 64  # the spec asks verifiers to accept at least 16
MAX_NOTE_BYTES = 64 * 1024
COSIGNATURE_HEADER = "cosignature/v1"
SIGNATURE_PREFIX = "— "  # em dash, space

Sign = Callable[[bytes], bytes]  # message -> Ed25519 signature
Verify = Callable[[bytes, bytes, bytes], bool]  # (raw public key, message, signature) -> valid?

_DECIMAL = re.compile(r"(0|[1-9][0-9]*)")


class NoteError(ValueError):
    """Bytes that are not a well-formed note, checkpoint or verifier key."""


class BadSignature(NoteError):
    """A signature by a known key that does not verify: the whole note is refused."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Standard base64 with padding, strictly (no stray characters, canonical form)."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not base64") from None
    if b64(data) != text:
        raise NoteError(f"{what} is not canonical base64")
    return data


def decimal(text: str, what: str) -> int:
    """A decimal without leading zeroes (as checkpoints and witnesses write sizes)."""
    if not _DECIMAL.fullmatch(text) or len(text) > 19:
        raise NoteError(f"{what} is not a decimal number without leading zeroes")
    value = int(text)
    if value >= 2**63:
        raise NoteError(f"{what} is too large")
    return value


def check_name(name: str) -> str:
    """A key name or origin: non-empty, no spaces, no ``+``, no control characters."""
    if not name or "+" in name or any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
        raise NoteError(f"{name!r} is not a valid key name (non-empty, without spaces or '+')")
    return name


@dataclass(frozen=True)
class NoteKey:
    """A named public key of one signature type, as a verifier key describes it."""

    name: str
    kind: int
    public: bytes

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.kind not in KINDS:
            raise NoteError(f"signature type 0x{self.kind:02x} is not supported (0x01 or 0x04)")
        if len(self.public) != 32:
            raise NoteError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.name.encode("utf-8") + b"\n" + bytes([self.kind]) + self.public).digest()[:4]

    @property
    def verifier_key(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([self.kind]) + self.public)}"

    @classmethod
    def parse(cls, verifier_key: str) -> NoteKey:
        """The key a verifier key ``<name>+<id>+<base64>`` describes (its id checked)."""
        parts = verifier_key.strip().split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise NoteError("a verifier key is <name>+<key id, 8 hex digits>+<base64 of type and public key>")
        material = unb64(parts[2], "the verifier key's key material")
        if len(material) < 2:
            raise NoteError("the verifier key holds no public key")
        key = cls(parts[0], material[0], material[1:])
        if key.key_id.hex() != parts[1]:
            raise NoteError("the verifier key's id does not match its name and public key")
        return key


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the signer's name and key id, and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {b64(self.key_id + self.signature)}\n"

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        """A signature line, without its newline."""
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("a signature line starts with an em dash and a space")
        name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not space:
            raise NoteError("a signature line is '— <name> <base64>'")
        check_name(name)
        raw = unb64(encoded, "a signature")
        if len(raw) < 5:
            raise NoteError("a signature is a key id and at least one byte")
        return cls(name, raw[:4], raw[4:])

    def by(self, key: NoteKey) -> bool:
        return self.name == key.name and self.key_id == key.key_id


@dataclass(frozen=True)
class Note:
    """A signed note: its text (ending in a newline) and its signatures."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> bytes:
        return (self.text + "\n" + "".join(signature.line() for signature in self.signatures)).encode("utf-8")

    def with_signatures(self, extra: Iterable[NoteSignature]) -> Note:
        """This note with more signatures (a line already present is not repeated)."""
        lines = list(self.signatures)
        for signature in extra:
            if signature not in lines:
                lines.append(signature)
        return Note(self.text, tuple(lines))


def parse_note(data: bytes) -> Note:
    """A note from its bytes: UTF-8 without control characters other than newlines, the
    text separated from the signature lines by its last blank line."""
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError("the note is too long")
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("a note is UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in message):
        raise NoteError("a note holds no control characters other than newlines")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("a note's signatures follow a blank line")
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("a note ends with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    return Note(text, tuple(NoteSignature.parse_line(line) for line in lines))


# -- signing and verifying ---------------------------------------------------------------------


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a tlog-cosignature/v1 cosignature signs."""
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n{text}".encode()


def sign_note(text: str, key: NoteKey, sign: Sign) -> NoteSignature:
    """The note signature (type 0x01) of ``key`` over ``text``."""
    if key.kind != ED25519:
        raise NoteError("a note signature needs a type 0x01 key")
    return NoteSignature(key.name, key.key_id, sign(text.encode("utf-8")))


def cosign(text: str, key: NoteKey, sign: Sign, timestamp: int) -> NoteSignature:
    """The cosignature (type 0x04) of ``key`` over a checkpoint's ``text`` at ``timestamp``."""
    if key.kind != COSIGNATURE:
        raise NoteError("a cosignature needs a type 0x04 key")
    if not 0 <= timestamp < 2**63:
        raise NoteError("a cosignature's time is a POSIX time below 2**63")
    signature = sign(cosigned_message(text, timestamp))
    return NoteSignature(key.name, key.key_id, timestamp.to_bytes(8, "big") + signature)


def signature_verifies(key: NoteKey, text: str, signature: NoteSignature, verify: Verify) -> bool:
    """Whether ``signature`` is ``key``'s valid signature of ``text``."""
    if not signature.by(key):
        return False
    if key.kind == ED25519:
        return len(signature.signature) == 64 and verify(key.public, text.encode("utf-8"), signature.signature)
    if len(signature.signature) != 72:
        return False
    timestamp = int.from_bytes(signature.signature[:8], "big")
    return timestamp < 2**63 and verify(key.public, cosigned_message(text, timestamp), signature.signature[8:])


def cosignature_time(signature: NoteSignature) -> int:
    return int.from_bytes(signature.signature[:8], "big")


def verified_keys(note: Note, keys: Sequence[NoteKey], verify: Verify) -> list[NoteKey]:
    """The known ``keys`` that validly signed the note. Signatures by unknown keys are
    ignored; one by a known key that does not verify refuses the note (``BadSignature``)."""
    found: list[NoteKey] = []
    for signature in note.signatures:
        for key in keys:
            if not signature.by(key) or key in found:
                continue
            if not signature_verifies(key, note.text, signature, verify):
                raise BadSignature(f"the signature of {key.name} does not verify")
            found.append(key)
    return found


# -- checkpoints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointText:
    """A checkpoint note's text: the log's origin, tree size and root hash (and
    extension lines, which this log never writes but others may)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), b64(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> CheckpointText:
        if not text.endswith("\n"):
            raise NoteError("a checkpoint's text ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise NoteError("a checkpoint is an origin, a tree size and a root hash, on lines of their own")
        root = unb64(lines[2], "the root hash")
        if len(root) != 32:
            raise NoteError("the root hash is 32 bytes")
        return cls(lines[0], decimal(lines[1], "the tree size"), root, tuple(lines[3:]))


__all__ = [
    "COSIGNATURE",
    "ED25519",
    "BadSignature",
    "CheckpointText",
    "Note",
    "NoteError",
    "NoteKey",
    "NoteSignature",
    "cosign",
    "parse_note",
    "sign_note",
    "signature_verifies",
    "verified_keys",
]
