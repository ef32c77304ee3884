"""Signed notes, checkpoints and cosignatures as the C2SP specifications write them:
checked against the Go team's published known-answer vectors (golang.org/x/mod/sumdb/note's
tests), against the specs' formulas written out here, and against tampering."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from application.notes import (
    COSIGNATURE,
    ED25519,
    BadSignature,
    CheckpointText,
    Note,
    NoteError,
    NoteKey,
    NoteSignature,
    cosign,
    parse_note,
    sign_note,
    verified_keys,
)
from infrastructure.keys import verify_ed25519

# The Go note package's published vectors (its TestSign and TestOpen).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def peter_private() -> Ed25519PrivateKey:
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])[1:]
    return Ed25519PrivateKey.from_private_bytes(seed)


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_a_note_signed_here_is_byte_for_byte_the_one_gos_note_package_signs() -> None:
    private = peter_private()
    key = NoteKey("PeterNeumann", ED25519, raw_public(private))
    assert key.verifier_key == PETER_VKEY
    signed = Note(TEXT, (sign_note(TEXT, key, private.sign),)).encode()
    assert signed == (TEXT + "\n" + PETER_SIG).encode()


def test_gos_signatures_open_here_and_unknown_signers_are_ignored() -> None:
    peter, enoch = NoteKey.parse(PETER_VKEY), NoteKey.parse(ENOCH_VKEY)
    note = parse_note((TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode())
    assert note.text == TEXT
    assert verified_keys(note, [peter], verify_ed25519) == [peter]
    assert verified_keys(note, [peter, enoch], verify_ed25519) == [peter, enoch]
    # A key of the same name but another id is a different key: its line is not Peter's.
    other = NoteKey("PeterNeumann", ED25519, raw_public(Ed25519PrivateKey.generate()))
    assert verified_keys(note, [other], verify_ed25519) == []


def test_a_changed_text_or_signature_refuses_the_note() -> None:
    peter = NoteKey.parse(PETER_VKEY)
    edited = parse_note((TEXT.replace("answer", "answers") + "\n" + PETER_SIG).encode())
    with pytest.raises(BadSignature):
        verified_keys(edited, [peter], verify_ed25519)
    raw = bytearray(base64.b64decode(PETER_SIG.split(" ")[2]))
    raw[10] ^= 1
    flipped = parse_note((TEXT + "\n— PeterNeumann " + base64.b64encode(bytes(raw)).decode() + "\n").encode())
    with pytest.raises(BadSignature):
        verified_keys(flipped, [peter], verify_ed25519)


def test_verifier_keys_follow_the_spec_formula_and_refuse_a_wrong_id() -> None:
    public = raw_public(Ed25519PrivateKey.generate())
    key = NoteKey("tutahi.example.govt.nz/log", ED25519, public)
    key_id = hashlib.sha256(b"tutahi.example.govt.nz/log\n\x01" + public).digest()[:4]
    material = base64.b64encode(bytes([1]) + public).decode()
    assert key.verifier_key == f"tutahi.example.govt.nz/log+{key_id.hex()}+{material}"
    assert NoteKey.parse(key.verifier_key) == key
    witness = NoteKey("witness.example/w1", COSIGNATURE, public)
    assert witness.key_id == hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert witness.key_id != key.key_id
    for bad in (
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # id off by one
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # key too long
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown type
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # a space in the name
        "PeterNeumann+c74f20a3",
    ):
        with pytest.raises(NoteError):
            NoteKey.parse(bad)


def test_a_cosignature_signs_the_header_the_time_and_the_checkpoint() -> None:
    private = Ed25519PrivateKey.generate()
    witness = NoteKey("witness.example/w1", COSIGNATURE, raw_public(private))
    text = CheckpointText("localhost/tutahi", 20852163, bytes(range(32))).text()
    line = cosign(text, witness, private.sign, 1679315147)
    assert line.key_id == witness.key_id
    assert line.signature[:8] == (1679315147).to_bytes(8, "big")
    signed = b"cosignature/v1\ntime 1679315147\n" + text.encode()
    private.public_key().verify(line.signature[8:], signed)  # raises if it is not this message
    note = Note(text, (line,))
    assert verified_keys(parse_note(note.encode()), [witness], verify_ed25519) == [witness]
    later = NoteSignature(line.name, line.key_id, (1679315148).to_bytes(8, "big") + line.signature[8:])
    with pytest.raises(BadSignature):
        verified_keys(Note(text, (later,)), [witness], verify_ed25519)


def test_checkpoint_text_is_origin_size_and_base64_root() -> None:
    root = hashlib.sha256(b"root").digest()
    text = CheckpointText("example.com/behind-the-sofa", 20852163, root).text()
    assert text == f"example.com/behind-the-sofa\n20852163\n{base64.b64encode(root).decode()}\n"
    assert CheckpointText.parse(text) == CheckpointText("example.com/behind-the-sofa", 20852163, root)
    assert CheckpointText.parse(text + "an extension\n").extensions == ("an extension",)
    encoded = base64.b64encode(root).decode()
    for bad in (
        f"origin\n020852163\n{encoded}\n",  # a leading zero
        f"origin\n-1\n{encoded}\n",
        f"origin\n5\n{base64.b64encode(root[:31]).decode()}\n",  # 31 bytes
        f"origin\n5\n{encoded}",  # no final newline
        f"origin\n5\n\n{encoded}\n",
    ):
        with pytest.raises(NoteError):
            CheckpointText.parse(bad)


@pytest.mark.parametrize(
    "message",
    [
        b"no blank line\n\xe2\x80\x94 a AAAAAAA=\n",
        TEXT.encode() + b"\n",  # no signatures
        TEXT.encode() + b"\n- PeterNeumann AAAAAAA=\n",  # a hyphen, not an em dash
        TEXT.encode() + b"\n\xe2\x80\x94 PeterNeumann not base64!\n",
        TEXT.encode() + b"\n\xe2\x80\x94 PeterNeumann AAAA\n",  # shorter than a key id and one byte
        TEXT.encode() + b"\n" + PETER_SIG.encode()[:-1],  # no final newline
        b"bell \x07\n\n" + PETER_SIG.encode(),
        b"\xff\xfe\n\n" + PETER_SIG.encode(),
        TEXT.encode() + b"\n" + PETER_SIG.encode() * 65,
    ],
)
def test_malformed_notes_are_refused(message: bytes) -> None:
    with pytest.raises(NoteError):
        parse_note(message)


@given(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1).map(lambda t: t + "\n"))
def test_any_text_survives_signing_and_parsing(text: str) -> None:
    private = peter_private()
    key = NoteKey("PeterNeumann", ED25519, raw_public(private))
    note = parse_note(Note(text, (sign_note(text, key, private.sign),)).encode())
    assert note.text == text  # the last blank line ends the text, so blank lines inside it stay
    assert verified_keys(note, [key], verify_ed25519) == [key]
