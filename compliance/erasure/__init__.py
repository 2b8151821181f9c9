"""The right to be forgotten: erasing a data subject from every region cell of an
organization and from Redis, with a certificate in the audit log (:mod:`.service`), the
per-table cascade (:mod:`.cascade`), and training inputs without erased subjects
(:mod:`.training`)."""

from ..subjects import subject_hash, subject_ref
from .service import CERTIFICATE, CellCertificate, ErasureResult, RedisTarget, erase_subject
from .training import NOT_ERASED, read_training_table

__all__ = [
    "CERTIFICATE",
    "NOT_ERASED",
    "CellCertificate",
    "ErasureResult",
    "RedisTarget",
    "erase_subject",
    "read_training_table",
    "subject_hash",
    "subject_ref",
]
