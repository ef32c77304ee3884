"""Checks an exported log against a signed checkpoint with no store and no service:
what an auditor runs on their own machine. Needs only the export, the checkpoint
(the JSON document, or the signed note with witnesses' cosignatures) and the public key
(which the auditor gets on its own path)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import rfc8785

from application.logformat import leaf_hash, position_in
from application.merkle import RootBuilder
from application.notes import (
    ED25519,
    BadSignature,
    CheckpointText,
    NoteError,
    NoteKey,
    Verify,
    parse_note,
    verified_keys,
)


def canonical(document: dict[str, Any]) -> bytes:
    """RFC 8785 (JCS) bytes of any event document, without its ``leaf_hash``, by the
    reference library (the service's own documents are stored in this form already)."""
    return rfc8785.dumps({k: v for k, v in document.items() if k != "leaf_hash"})


def leaf_of(document: dict[str, Any]) -> bytes:
    return leaf_hash(canonical(document))


def checkpoint_message(tree_size: int, root_hash_hex: str, issued_at: str) -> bytes:
    """The bytes a checkpoint's signature covers (docs/api.md)."""
    return f"tutahi-checkpoint\n{tree_size}\n{root_hash_hex}\n{issued_at}\n".encode()


@dataclass(frozen=True)
class ExportVerdict:
    ok: bool
    checked: int
    first_bad_position: int | None
    detail: str


def verify_export(
    lines: Iterable[bytes | str],
    checkpoint: dict[str, Any],
    public_key: dict[str, Any],
    signature_ok: Callable[[str, bytes, str], bool],
    progress: Callable[[int], None] | None = None,
) -> ExportVerdict:
    """Every line must be the event document at the next position whose leaf hash is
    what the line says, and the first ``tree_size`` leaves must make the signed root."""
    try:
        size = int(checkpoint["tree_size"])
        root_hex = str(checkpoint["root_hash"])
        message = checkpoint_message(size, root_hex, str(checkpoint["issued_at"]))
        if checkpoint.get("key_id") != public_key.get("key_id"):
            return ExportVerdict(False, 0, None, "the checkpoint was signed with another key id")
        if not signature_ok(str(public_key["public_key"]), message, str(checkpoint["signature"])):
            return ExportVerdict(False, 0, None, "the checkpoint's signature does not verify with this public key")
    except (KeyError, TypeError, ValueError) as error:
        return ExportVerdict(False, 0, None, f"the checkpoint or public key file is malformed: {error}")
    return verify_lines(lines, size, root_hex, progress)


def log_note_key(public_key: dict[str, Any], origin: str) -> NoteKey:
    """The log's signed-note key from its public-key document: its ``note_verifier_key``
    (which must hold the same public key), or, in a document of a release before it,
    the public key under the checkpoint's ``origin``."""
    try:
        raw = base64.b64decode(str(public_key["public_key"]), validate=True)
    except (KeyError, binascii.Error, ValueError):
        raise NoteError("the public key file has no base64 public_key") from None
    given = public_key.get("note_verifier_key")
    if given is None:
        return NoteKey(origin, ED25519, raw)
    key = NoteKey.parse(str(given))
    if key.kind != ED25519 or key.public != raw:
        raise NoteError("the note verifier key is not the public key the file gives")
    return key


def verify_export_note(
    lines: Iterable[bytes | str],
    note: bytes,
    public_key: dict[str, Any],
    witnesses: Sequence[NoteKey],
    quorum: int,
    verify: Verify,
    progress: Callable[[int], None] | None = None,
) -> ExportVerdict:
    """As ``verify_export``, against a checkpoint as a signed note (``GET /log/checkpoint``):
    it must be signed by the log's key and cosigned by at least ``quorum`` of
    ``witnesses`` (their cosignature verifier keys). A signature by one of those keys
    that does not verify refuses the note; signatures by other keys are ignored."""
    try:
        opened = parse_note(note)
        checkpoint = CheckpointText.parse(opened.text)
        log_key = log_note_key(public_key, checkpoint.origin)
        if log_key.name != checkpoint.origin:
            return ExportVerdict(
                False, 0, None, f"the checkpoint is of the log {checkpoint.origin}, not {log_key.name}"
            )
        signed = verified_keys(opened, [log_key, *witnesses], verify)
    except BadSignature as error:
        return ExportVerdict(False, 0, None, f"the checkpoint note is refused: {error}")
    except NoteError as error:
        return ExportVerdict(False, 0, None, f"the checkpoint note or public key file is malformed: {error}")
    if log_key not in signed:
        return ExportVerdict(False, 0, None, "the checkpoint note is not signed by the log's key")
    cosigned = [witness.name for witness in witnesses if witness in signed]
    if len(cosigned) < quorum:
        return ExportVerdict(
            False,
            0,
            None,
            f"the checkpoint is cosigned by {len(cosigned)} of the {len(witnesses)} witnesses given; "
            f"the quorum is {quorum}",
        )
    verdict = verify_lines(lines, checkpoint.size, checkpoint.root.hex(), progress)
    if verdict.ok and witnesses:
        names = ", ".join(cosigned) if cosigned else "none"
        return replace(verdict, detail=f"{verdict.detail}, cosigned by {names} (quorum {quorum})")
    return verdict


def verify_lines(
    lines: Iterable[bytes | str], size: int, root_hex: str, progress: Callable[[int], None] | None = None
) -> ExportVerdict:
    """Every line must be the event document at the next position whose leaf hash is
    what the line says, and the first ``size`` leaves must make the root ``root_hex``."""
    builder = RootBuilder()
    checked = 0
    for line_number, raw in enumerate(lines, start=1):
        line = raw.encode("utf-8") if isinstance(raw, str) else raw
        if not line.strip():
            continue  # blank lines (e.g. a trailing newline) are not events
        number = checked  # the position the next event must have
        leaf = line_leaf(line)
        if leaf is None:
            return ExportVerdict(False, checked, number, f"line {line_number} is not an event document")
        position, stated, recomputed = leaf
        if position != number:
            return ExportVerdict(False, checked, number, f"position {number} is missing (found {position})")
        if recomputed is None:
            return ExportVerdict(False, checked, number, f"the event at position {number} could not be read")
        if recomputed != stated:
            return ExportVerdict(False, checked, number, f"the event at position {number} does not match its leaf hash")
        if builder.size < size:
            builder.add(recomputed)
            if builder.size == size and builder.root().hex() != root_hex:
                return ExportVerdict(
                    False, checked + 1, None, f"the first {size} events do not make the checkpoint's root"
                )
        checked += 1
        if progress is not None:
            progress(checked)
    if checked < size:
        return ExportVerdict(False, checked, checked, f"the export has {checked} events; the checkpoint has {size}")
    if size == 0 and builder.root().hex() != root_hex:
        return ExportVerdict(False, checked, None, "the checkpoint's root is not the empty tree's")
    return ExportVerdict(True, checked, None, f"{checked} events verified; the first {size} match the checkpoint")


SPLICED = re.compile(rb',"leaf_hash":"([0-9a-f]{64})"\}\s*$')


def line_leaf(line: bytes) -> tuple[int, bytes, bytes | None] | None:
    """(position, stated leaf, leaf of the line's document or None if unreadable) of one
    export line, or None if it is not an event document. This release's exports splice
    the leaf hash into the stored bytes, so the bytes before it (and a closing brace) are
    the pre-image as stored; any other line (e.g. from release 0.1.0) is parsed and its
    document canonicalised (RFC 8785) without ``leaf_hash``."""
    spliced = SPLICED.search(line)
    if spliced is not None:
        document = line[: spliced.start()] + b"}"
        stated = bytes.fromhex(spliced.group(1).decode("ascii"))
        if leaf_hash(document) == stated:
            position = position_in(document)
            return None if position is None else (position, stated, stated)
    try:
        parsed = json.loads(line)
        position = parsed["position"]
        stated = bytes.fromhex(parsed["leaf_hash"])
        if not isinstance(position, int) or isinstance(position, bool):
            return None
        recomputed = leaf_of(parsed) if "error" not in parsed else None
    except (ValueError, KeyError, TypeError, rfc8785.CanonicalizationError):
        return None
    return position, stated, recomputed
