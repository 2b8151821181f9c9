"""The archive store: a directory or any S3-compatible bucket, both through ``pyarrow.fs``.

One :class:`ArchiveStore` serves both kinds: it holds a pyarrow ``FileSystem`` and the base
path inside it, and every read and write goes through the same filesystem calls. Objects
are written whole from a local file and read back whole into one (with their SHA-256), so
what is verified is exactly what the store returns.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pyarrow as pa
from pyarrow import fs

from .errors import ArchiveStoreError

if TYPE_CHECKING:
    from postwise.settings import Settings

log = logging.getLogger(__name__)

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class S3Options:
    """How to reach an S3-compatible endpoint (None: the AWS SDK's defaults)."""

    endpoint: str | None = None  # http(s)://host:port
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"


class ArchiveStore:
    """Where archived Parquet objects live: ``filesystem`` plus a base path inside it."""

    def __init__(self, filesystem: fs.FileSystem, base: str, url: str) -> None:
        self.filesystem = filesystem
        self.base = base.rstrip("/")
        self.url = url.rstrip("/")

    @classmethod
    def from_url(cls, url: str, s3: S3Options | None = None) -> ArchiveStore:
        """The store ``url`` names: a path or ``file://`` URL, or ``s3://bucket/prefix``."""
        parts = urlsplit(url)
        if parts.scheme == "s3":
            if not parts.netloc:
                raise ArchiveStoreError(url, "an s3:// URL needs a bucket")
            return cls(_s3_filesystem(s3 or S3Options()), f"{parts.netloc}{parts.path}", url)
        if parts.scheme not in ("", "file"):
            raise ArchiveStoreError(url, f"unsupported scheme {parts.scheme!r} (s3 or file)")
        base = Path(parts.path if parts.scheme == "file" else url).expanduser().resolve()
        return cls(fs.LocalFileSystem(), str(base), base.as_uri())

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveStore:
        """The store ARCHIVE_URL and the ARCHIVE_S3_* settings describe."""
        return cls.from_url(
            settings.archive_location,
            S3Options(
                endpoint=settings.archive_s3_endpoint,
                access_key=settings.archive_s3_access_key,
                secret_key=settings.archive_s3_secret_key,
                region=settings.archive_s3_region,
            ),
        )

    def path(self, key: str) -> str:
        """The filesystem path of object ``key``."""
        return f"{self.base}/{key}"

    def object_url(self, key: str) -> str:
        """The URL of object ``key`` (what the archive index records)."""
        return f"{self.url}/{key}"

    def put(self, source: Path, key: str) -> None:
        """Write the local file ``source`` as object ``key``."""
        target = self.path(key)
        try:
            if isinstance(self.filesystem, fs.LocalFileSystem):
                self.filesystem.create_dir(target.rsplit("/", 1)[0], recursive=True)
            with source.open("rb") as local, self.filesystem.open_output_stream(target) as out:
                self._copy(local, out)
        except (OSError, pa.ArrowException) as exc:
            raise ArchiveStoreError(self.object_url(key), f"write failed: {exc}") from exc

    def _copy(self, local: object, out: pa.NativeFile) -> None:
        """Copy every byte of ``local`` to ``out`` (a seam a test store can shorten)."""
        while chunk := local.read(_CHUNK):  # type: ignore[attr-defined]
            out.write(chunk)

    def fetch(self, key: str, target: Path) -> str:
        """Read object ``key`` into the local file ``target``; returns its SHA-256 (hex)."""
        digest = hashlib.sha256()
        try:
            with self.filesystem.open_input_stream(self.path(key)) as src, target.open("wb") as out:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, pa.ArrowException) as exc:
            raise ArchiveStoreError(self.object_url(key), f"read failed: {exc}") from exc
        return digest.hexdigest()

    def open(self, key: str) -> pa.NativeFile:
        """A random-access reader of object ``key`` (for Parquet footers and row groups)."""
        try:
            return self.filesystem.open_input_file(self.path(key))
        except (OSError, pa.ArrowException) as exc:
            raise ArchiveStoreError(self.object_url(key), f"read failed: {exc}") from exc

    def delete(self, key: str) -> None:
        """Remove object ``key`` if it is there (a rejected upload)."""
        try:
            self.filesystem.delete_file(self.path(key))
        except FileNotFoundError:
            return
        except (OSError, pa.ArrowException) as exc:
            log.warning("could not remove rejected archive object %s: %s", key, exc)


def _s3_filesystem(options: S3Options) -> fs.S3FileSystem:
    endpoint = scheme = None
    if options.endpoint:
        parts = urlsplit(options.endpoint)
        endpoint, scheme = (parts.netloc, parts.scheme) if parts.netloc else (parts.path, "https")
    return fs.S3FileSystem(
        access_key=options.access_key,
        secret_key=options.secret_key,
        region=options.region,
        endpoint_override=endpoint,
        scheme=scheme or "https",
    )
