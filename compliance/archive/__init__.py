"""Cold-storage archive of event partitions past the hot retention.

- :mod:`.store`: the archive store (a directory or an S3-compatible bucket, via pyarrow.fs)
- :mod:`.content`: the Parquet schema and the content checksum PostgreSQL and Parquet share
- :mod:`.sealing`: personal payloads sealed under each contact's data key
- :mod:`.export`: export, verification, index, drop (what ``postwise archive run`` and the
  upkeep asset call)
- :mod:`.verify`: re-reading an object and checking it against its partition
- :mod:`.index`: the archive index in each cell, and the erasure hook
- :mod:`.query`: SQL over the archived Parquet files with polars
- :mod:`.errors`: the archive's exceptions

Nothing is imported here, so the erasure cascade can use :mod:`.index` without loading
pyarrow or polars.
"""
