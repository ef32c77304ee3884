"""The checkpoint signing key: Ed25519, generated at first start into the instance
folder (never in the repository), read by every process after that."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "checkpoint-signing-key.pem"
SECRET_FILE = "session-secret"
OWNER_ONLY = 0o600


class InsecureKeyFile(RuntimeError):
    """A key file that the owner's group or other users can read or write: the service
    does not start with it, so that an exposed key is noticed, not used."""


def check_owner_only(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise InsecureKeyFile(
            f"{path} can be read or written by its group or others (mode {mode:o}); "
            f"make it the owner's alone with: chmod 600 {path}"
        )


def check_key_files(folder: str | os.PathLike[str] | None = None) -> None:
    """Checks the instance folder's key files that exist (at first start there are none)."""
    for name in (KEY_FILE, SECRET_FILE):
        path = instance_path(folder) / name
        if path.exists():
            check_owner_only(path)


def instance_path(given: str | os.PathLike[str] | None = None) -> Path:
    """The instance folder: the given one, else ``TUTAHI_INSTANCE_PATH``, else
    ``instance/`` in the current folder."""
    return Path(given or os.environ.get("TUTAHI_INSTANCE_PATH") or "instance")


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


class Ed25519Signer:
    """Signs checkpoints; its key id is the first 16 hex digits of SHA-256 of the raw
    public key."""

    algorithm = "ed25519"

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_bytes = raw_public_key(private_key.public_key())
        self.key_id = key_id_of(self.public_bytes)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_bytes).decode("ascii")


def create_private_file(path: Path, content: bytes) -> None:
    """Writes ``content`` to ``path`` (mode 0600) unless the file exists. Concurrent first
    starts agree on one file: each writes a private temporary file and links it into
    place, which only the first can do."""
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    finally:
        temporary.unlink()


def load_or_create_ed25519(path: Path) -> Ed25519Signer:
    """The Ed25519 key in the PEM file ``path``, generated (mode 0600) on first use."""
    if not path.exists():
        create_private_file(
            path,
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
    check_owner_only(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return Ed25519Signer(key)


def load_or_create_signer(folder: str | os.PathLike[str] | None = None) -> Ed25519Signer:
    """Reads the checkpoint key from the instance folder, generating it on first use."""
    return load_or_create_ed25519(instance_path(folder) / KEY_FILE)


def verify_signature(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    """Checks an Ed25519 signature with a base64 raw public key (offline, no store)."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_ed25519(public: bytes, message: bytes, signature: bytes) -> bool:
    """Checks an Ed25519 signature with a raw 32-byte public key (signed notes)."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create_secret(folder: str | os.PathLike[str] | None = None) -> bytes:
    """The key that signs session cookies and CSRF tokens, made at first start in the
    instance folder (mode 0600) and shared by every process after that."""
    path = instance_path(folder) / SECRET_FILE
    create_private_file(path, secrets.token_bytes(32))
    check_owner_only(path)
    secret = path.read_bytes()
    if len(secret) < 32:
        raise ValueError(f"{path} holds too short a secret")
    return secret
