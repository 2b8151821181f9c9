"""Signed checkpoints: the audit chain's anchor outside the database.

A checkpoint names a database's chain head (entry id and hash) at a moment and is signed
with ECDSA over P-521 (SHA-512). Checkpoints are files in a write-once directory: each is
created exclusively, made read-only and never rewritten. Someone able to rewrite the
audit_log table, and recompute every hash after the rows they changed, still cannot make the
chain match a checkpoint signed before the change, nor sign a new one without the key.

File name: ``<database>-<audit_id, 12 digits>.json``; content: canonical JSON of the
database, audit id, head hash (hex), signing time, algorithm and base64 signature.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import CheckpointError
from .chain import AuditEntry, canonical_json, utc_text

ALGORITHM = "ECDSA-P521-SHA512"
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of one database's chain head."""

    database: str
    audit_id: int
    row_hash: bytes
    signed_at: datetime
    signature: bytes = b""

    def payload(self) -> bytes:
        """The bytes the signature covers."""
        return canonical_json(
            {
                "algorithm": ALGORITHM,
                "audit_id": self.audit_id,
                "database": self.database,
                "row_hash": self.row_hash.hex(),
                "signed_at": utc_text(self.signed_at),
            }
        )

    def file_name(self) -> str:
        return f"{self.database}-{self.audit_id:012d}.json"

    def to_json(self) -> bytes:
        document = json.loads(self.payload())
        document["signature"] = base64.b64encode(self.signature).decode()
        return canonical_json(document)


def load_signing_key(path: Path, *, create: bool = False) -> ec.EllipticCurvePrivateKey:
    """The P-521 private key in PEM at ``path``; with ``create``, a new one is generated
    (file mode 0600) when none exists yet."""
    if not path.exists():
        if not create:
            raise CheckpointError(f"no checkpoint signing key at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP521R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        return key
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} holds no usable private key: {exc}") from None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.curve.name != "secp521r1":
        raise CheckpointError(f"{path} is not a P-521 private key")
    return loaded


def sign_checkpoint(
    key: ec.EllipticCurvePrivateKey, database: str, head: AuditEntry, *, at: datetime | None = None
) -> Checkpoint:
    """A checkpoint of ``head`` (the chain's newest entry) signed with ``key``."""
    unsigned = Checkpoint(database, head.audit_id, head.row_hash, at or datetime.now(UTC))
    signature = key.sign(unsigned.payload(), ec.ECDSA(hashes.SHA512()))
    return Checkpoint(
        unsigned.database, unsigned.audit_id, unsigned.row_hash, unsigned.signed_at, signature
    )


def is_signed_by(public_key: ec.EllipticCurvePublicKey, checkpoint: Checkpoint) -> bool:
    try:
        public_key.verify(checkpoint.signature, checkpoint.payload(), ec.ECDSA(hashes.SHA512()))
    except InvalidSignature:
        return False
    return True


def write_checkpoint(directory: Path, checkpoint: Checkpoint) -> Path:
    """Create the checkpoint's file, read-only; an existing file is never rewritten (the
    same head checkpointed twice keeps the first file)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / checkpoint.file_name()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = read_checkpoint(path)
        if existing.row_hash != checkpoint.row_hash:
            raise CheckpointError(
                f"{path} already anchors entry {checkpoint.audit_id} with another hash"
            ) from None
        return path
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(checkpoint.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, READ_ONLY)
    return path


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        document = json.loads(path.read_bytes())
        if document["algorithm"] != ALGORITHM:
            raise CheckpointError(f"{path}: unsupported algorithm {document['algorithm']!r}")
        return Checkpoint(
            database=str(document["database"]),
            audit_id=int(document["audit_id"]),
            row_hash=bytes.fromhex(document["row_hash"]),
            signed_at=datetime.fromisoformat(document["signed_at"].replace("Z", "+00:00")),
            signature=base64.b64decode(document["signature"], validate=True),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint: {exc}") from None


def checkpoints_of(directory: Path, database: str) -> list[tuple[Path, Checkpoint]]:
    """The checkpoint files of ``database`` in ``directory``, oldest entry first."""
    if not directory.is_dir():
        return []
    found = [(path, read_checkpoint(path)) for path in sorted(directory.glob(f"{database}-*.json"))]
    return sorted(
        ((path, point) for path, point in found if point.database == database),
        key=lambda item: item[1].audit_id,
    )
