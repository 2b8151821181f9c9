"""Dependencies of the ingestion routes: the PII cipher, the limits and the ingestor, built
from the settings the app was created with (the cipher once per key pair)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends

from compliance.crypto import PiiCipher

from ..api.deps import CellsDep, SettingsDep
from .messages import Ingestor
from .validation import Limits


@lru_cache(maxsize=4)
def _cipher(keks: tuple[tuple[int, str], ...], version: int, blind_index_key: str) -> PiiCipher:
    return PiiCipher.from_keyring(dict(keks), version, blind_index_key)


def get_cipher(settings: SettingsDep) -> PiiCipher:
    keks = tuple(sorted(settings.key_encryption_keys.items()))
    return _cipher(keks, settings.key_encryption_key_version, settings.blind_index_key)


def get_limits(settings: SettingsDep) -> Limits:
    return Limits(
        request_bytes=settings.ingest_max_request_bytes,
        content_bytes=settings.ingest_max_content_bytes,
        variables_bytes=settings.ingest_max_variables_bytes,
        batch_messages=settings.ingest_max_batch,
    )


CipherDep = Annotated[PiiCipher, Depends(get_cipher)]
LimitsDep = Annotated[Limits, Depends(get_limits)]


def get_ingestor(cells: CellsDep, cipher: CipherDep, limits: LimitsDep) -> Ingestor:
    return Ingestor(cells, cipher, limits)


IngestorDep = Annotated[Ingestor, Depends(get_ingestor)]
