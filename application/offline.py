"""Checks an exported log against a signed checkpoint with no store and no service:
what an auditor runs on their own machine. Needs only the export, the checkpoint
document and the public key (which the auditor gets on its own path)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import rfc8785

from application.logformat import leaf_hash, position_in
from application.merkle import RootBuilder


def canonical(document: dict[str, Any]) -> bytes:
    """RFC 8785 (JCS) bytes of any event document, without its ``leaf_hash``, by the
    reference library (the service's own documents are stored in this form already)."""
    return rfc8785.dumps({k: v for k, v in document.items() if k != "leaf_hash"})


def leaf_of(document: dict[str, Any]) -> bytes:
    return leaf_hash(canonical(document))


def checkpoint_message(tree_size: int, root_hash_hex: str, issued_at: str) -> bytes:
    """The bytes a checkpoint's signature covers (api.md)."""
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
