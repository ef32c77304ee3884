"""Helpers for the witness tests: a log's key and checkpoint notes over leaves held in
memory, consistency proofs between them, and a witness served over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask
from werkzeug.serving import make_server

from application.merkle import MerkleTree, RootBuilder
from application.notes import ED25519, CheckpointText, Note, NoteKey, sign_note
from interfaces.witness import create_witness_app


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass
class MemoryLog:
    """A log's key and leaves, to make checkpoints and proofs a witness can check."""

    origin: str = "localhost/tutahi"
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    leaves: list[bytes] = field(default_factory=list)

    @property
    def key(self) -> NoteKey:
        return NoteKey(self.origin, ED25519, raw_public(self.private))

    def grow(self, count: int, tag: str = "") -> MemoryLog:
        start = len(self.leaves)
        self.leaves += [hashlib.sha256(f"\x00entry {start + i}{tag}".encode()).digest() for i in range(count)]
        return self

    def _nodes(self) -> dict[tuple[int, int], bytes]:
        nodes = {(0, i): h for i, h in enumerate(self.leaves)}
        builder = RootBuilder()
        for h in self.leaves:
            nodes.update({(level, index): digest for level, index, digest in builder.add(h)})
        return nodes

    def root(self, size: int | None = None) -> bytes:
        nodes = self._nodes()
        return MerkleTree(_Nodes(nodes)).root(len(self.leaves) if size is None else size)

    def note(self, size: int | None = None, signer: Ed25519PrivateKey | None = None) -> Note:
        size = len(self.leaves) if size is None else size
        text = CheckpointText(self.origin, size, self.root(size)).text()
        return Note(text, (sign_note(text, self.key, (signer or self.private).sign),))

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = len(self.leaves) if new is None else new
        return MerkleTree(_Nodes(self._nodes())).consistency_proof(old, new)


class _Nodes:
    def __init__(self, nodes: dict[tuple[int, int], bytes]) -> None:
        self.found = nodes

    def node(self, level: int, index: int) -> bytes:
        return self.found[(level, index)]


def request_body(old: int, proof: list[bytes], note: Note) -> bytes:
    """An add-checkpoint body, written out from the spec."""
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof), ""]
    return ("\n".join(lines) + "\n").encode() + note.encode()


def cosignature_verifies(witness_vkey: str, note_text: str, line: str) -> bool:
    """tlog-cosignature/v1, checked from the spec: the key id is SHA-256(name, newline,
    0x04, key)[:4]; the signature is a big-endian time then Ed25519 over
    ``cosignature/v1\\ntime <t>\\n`` and the checkpoint's text."""
    name, key_id, material = witness_vkey.split("+", 2)
    raw_key = base64.b64decode(material)
    assert raw_key[0] == 4
    dash, signer, encoded = line.rstrip("\n").split(" ")
    raw = base64.b64decode(encoded)
    if dash != "—" or signer != name or raw[:4].hex() != key_id:
        return False
    if hashlib.sha256(name.encode() + b"\n" + raw_key).digest()[:4] != raw[:4]:
        return False
    timestamp = int.from_bytes(raw[4:12], "big")
    message = f"cosignature/v1\ntime {timestamp}\n{note_text}".encode()
    try:
        Ed25519PublicKey.from_public_bytes(raw_key[1:]).verify(raw[12:], message)
    except InvalidSignature:
        return False
    return True


@contextmanager
def serving_witness(state: Path) -> Iterator[tuple[str, Flask]]:
    """The witness of folder ``state`` over real HTTP on a free loopback port."""
    app = create_witness_app(state)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=10)
        os.close(app.extensions["witness_lock"])
