"""Parsing contacts imports as streams: CSV with attribute columns, JSON lines and JSON
arrays read in pieces smaller than a record, with a problem per bad record."""

from __future__ import annotations

import io
import json

import pytest

from serving.errors import UnsupportedMediaType
from serving.ingest import importing
from serving.ingest.importing import ContactRow, RowProblem, records


def parsed(text: str, content_type: str) -> list[tuple[str, str]]:
    out = []
    for record in records(io.BytesIO(text.encode()), content_type):
        if isinstance(record, RowProblem):
            out.append(("problem", record.code))
        else:
            out.append(("row", record.email))
    return out


def test_csv_records_with_attribute_columns_and_json_attributes() -> None:
    text = (
        "\ufeffemail,country,attr.plan,attributes\n"
        'ada@example.org,DE,pro,"{""seats"": 3}"\n'
        "bob@example.org,DE,,\n"
        "cy@example.org,DE,x,y,z\n"
    )
    rows = list(records(io.BytesIO(text.encode()), "text/csv"))

    assert isinstance(rows[0], ContactRow)
    assert rows[0].attributes == {"plan": "pro", "seats": 3}
    assert isinstance(rows[1], ContactRow) and rows[1].attributes == {}
    assert isinstance(rows[2], RowProblem) and rows[2].code == "invalid_row"


def test_json_lines_skip_blank_lines_and_report_bad_ones() -> None:
    text = '{"email": "a@example.org"}\n\n[1]\n{oops\n{"email": "b@example.org", "x": 1}\n'
    assert parsed(text, "application/x-ndjson") == [
        ("row", "a@example.org"),
        ("problem", "invalid_row"),
        ("problem", "invalid_json"),
        ("problem", "invalid_row"),  # unknown key
    ]


def test_a_json_array_is_read_in_pieces_smaller_than_its_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importing, "READ_BYTES", 7)
    items = [{"email": f"p{i}@example.org", "name": "Zoë " * i} for i in range(20)]
    text = " [ " + ",\n".join(json.dumps(i, ensure_ascii=False) for i in items) + " ] "

    assert parsed(text, "application/json") == [("row", i["email"]) for i in items]
    assert parsed("[]", "application/json") == []
    assert parsed('{"email": "a@example.org"}', "application/json") == [("problem", "invalid_json")]
    assert parsed('[{"email": "a@example.org"}, {"em', "application/json") == [
        ("row", "a@example.org"),
        ("problem", "invalid_json"),
    ]
    assert parsed('[{"email": "a@example.org"}, 3]', "application/json") == [
        ("row", "a@example.org"),
        ("problem", "invalid_row"),
    ]


def test_other_formats_are_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        parsed("<x/>", "text/xml")
