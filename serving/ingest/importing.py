"""Parsing a contacts import as a stream: CSV (``text/csv``, a header row), JSON lines
(``application/x-ndjson``) or a JSON array (``application/json``), read from a binary file
in bounded pieces, one record at a time, never the whole body at once.

Columns/keys: ``email`` (required), ``name``, ``country`` (ISO alpha-2; needed for new
contacts), ``time_zone``, ``locale``, ``attributes`` (a JSON object; in CSV also
``attr.<key>`` columns), ``consent`` (``granted``, ``pending`` or ``withdrawn``: marketing
consent recorded with source ``import``) and ``policy_version``.
Records are numbered from 1 in the order they appear (a CSV header is not a record).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import UnsupportedMediaType
from ..proto.bodies import describe

READ_BYTES = 64 * 1024
MAX_RECORD_BYTES = 64 * 1024
CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSONL_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/jsonlines"})
JSON_TYPES = frozenset({"application/json"})


class ContactRow(BaseModel):
    """One imported contact, validated."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(None, max_length=200)
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    time_zone: str | None = Field(None, max_length=64)
    locale: str | None = Field(None, max_length=35)
    attributes: dict[str, Any] = Field(default_factory=dict)
    consent: Literal["granted", "pending", "withdrawn"] | None = None
    policy_version: str = Field("import", max_length=64)


class RowProblem(Exception):
    """A record that cannot be imported; ``code`` and a sentence go into the report."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


Record = ContactRow | RowProblem


def records(body: IO[bytes], content_type: str) -> Iterator[Record]:
    """The body's records in order, each a valid row or the problem with it."""
    if content_type in CSV_TYPES:
        source: Iterator[dict[str, Any] | RowProblem] = _csv(body)
    elif content_type in JSONL_TYPES:
        source = _json_lines(body)
    elif content_type in JSON_TYPES:
        source = _json_array(body)
    else:
        raise UnsupportedMediaType(
            f"send text/csv, application/x-ndjson or application/json, not {content_type}"
        )
    for raw in source:
        yield raw if isinstance(raw, RowProblem) else to_row(raw)


def to_row(raw: dict[str, Any]) -> Record:
    try:
        return ContactRow.model_validate(raw)
    except ValidationError as exc:
        return RowProblem("invalid_row", describe(exc))


def _csv(body: IO[bytes]) -> Iterator[dict[str, Any] | RowProblem]:
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    for fields in reader:
        if None in fields:
            yield RowProblem("invalid_row", "the record has more fields than the header")
            continue
        raw: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        for key, value in fields.items():
            if value is None or value == "":
                continue
            if key.startswith("attr."):
                attributes[key.removeprefix("attr.")] = value
            elif key == "attributes":
                try:
                    attributes.update(json.loads(value))
                except (ValueError, TypeError):
                    raw["attributes"] = value  # reported by validation
            else:
                raw[key] = value
        if attributes and not isinstance(raw.get("attributes"), str):
            raw["attributes"] = attributes
        yield raw


def _json_lines(body: IO[bytes]) -> Iterator[dict[str, Any] | RowProblem]:
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="")
    for line in text:
        if not line.strip():
            continue
        if len(line) > MAX_RECORD_BYTES:
            yield RowProblem("record_too_large", f"records are limited to {MAX_RECORD_BYTES} bytes")
            continue
        yield _object(line)


def _object(text: str) -> dict[str, Any] | RowProblem:
    try:
        value = json.loads(text)
    except ValueError as exc:
        return RowProblem("invalid_json", f"the record is not JSON: {exc}")
    if not isinstance(value, dict):
        return RowProblem("invalid_row", "each record must be a JSON object")
    return value


def _json_array(body: IO[bytes]) -> Iterator[dict[str, Any] | RowProblem]:
    """Objects of a top-level JSON array, decoded one by one from a bounded buffer."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8-sig")()
    buffer, pos, eof, started = "", 0, False, False

    def fill() -> bool:
        nonlocal buffer, pos, eof
        chunk = body.read(READ_BYTES)
        eof = not chunk
        buffer = buffer[pos:] + utf8.decode(chunk, final=eof)
        pos = 0
        return not eof

    while True:
        while pos < len(buffer) and buffer[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(buffer):
            if eof or not fill():
                if not started:
                    yield RowProblem("invalid_json", "the body is empty, not a JSON array")
                elif not eof:
                    continue
                else:
                    yield RowProblem("invalid_json", "the JSON array is not closed")
                return
            continue
        if not started:
            if buffer[pos] != "[":
                yield RowProblem("invalid_json", "a JSON body must be an array of objects")
                return
            started, pos = True, pos + 1
            continue
        if buffer[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(buffer, pos)
        except ValueError as exc:
            if eof or len(buffer) - pos > MAX_RECORD_BYTES:
                yield RowProblem("invalid_json", f"the array's next record is not JSON: {exc}")
                return
            fill()
            continue
        if end >= len(buffer) and not eof and not isinstance(value, (dict, list, str)):
            fill()  # a number at the buffer's end may continue in the next piece
            continue
        pos = end
        yield (
            value
            if isinstance(value, dict)
            else RowProblem("invalid_row", "each record must be a JSON object")
        )
