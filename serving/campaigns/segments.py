"""The segment filter language: which of an organization's contacts a campaign goes to.

A segment is a JSON object, one of::

    {}                                          every contact
    {"all": [<segment>, ...]}                   every condition holds
    {"any": [<segment>, ...]}                   at least one holds
    {"not": <segment>}                          the condition does not hold
    {"field": F, "op": OP, "value": V}          a contact field or attribute
    {"engagement": E, "within_days": N}         an opened/clicked/delivered event in N days

Fields: ``country`` (ISO code), ``region`` (cell), ``locale``, ``time_zone``,
``email_domain``, or ``attributes.<name>`` (the contact's JSON attributes). Operators:
``eq``, ``ne``, ``in``, ``not_in`` (a list), ``gt``, ``gte``, ``lt``, ``lte`` (numbers, on
attributes), ``exists`` (``value`` true or false), ``contains`` (a substring).
Engagement counts human events only (bot opens and clicks are ignored).

Example: German or Austrian customers on the pro plan who opened something in 30 days::

    {"all": [{"field": "country", "op": "in", "value": ["DE", "AT"]},
             {"field": "attributes.plan", "op": "eq", "value": "pro"},
             {"engagement": "opened", "within_days": 30}]}

:func:`compile_segment` checks a segment and turns it into a SQL condition over the
``contacts`` table aliased ``c``; a bad segment raises :class:`SegmentError`.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg import sql

COLUMNS = frozenset({"country", "region", "locale", "time_zone", "email_domain"})
OPERATORS = frozenset({"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists", "contains"})
COMPARISONS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
ENGAGEMENTS = frozenset({"opened", "clicked", "delivered"})
ATTRIBUTE = re.compile(r"^attributes\.([A-Za-z0-9_\-]{1,64})$")
MAX_DEPTH = 8
MAX_CONDITIONS = 100
MAX_LIST = 1000


class SegmentError(ValueError):
    """A segment the language cannot express; the message says where and why."""


def compile_segment(segment: Any) -> tuple[sql.Composable, list[Any]]:
    """A SQL condition (over ``contacts c``) selecting the segment, and its parameters."""
    params: list[Any] = []
    counter = [0]
    condition = _compile(segment, params, "segment", 0, counter)
    return condition, params


def _compile(
    node: Any, params: list[Any], where: str, depth: int, counter: list[int]
) -> sql.Composable:
    if depth > MAX_DEPTH:
        raise SegmentError(f"{where}: segments nest at most {MAX_DEPTH} levels deep")
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise SegmentError(f"a segment has at most {MAX_CONDITIONS} conditions")
    if not isinstance(node, dict):
        raise SegmentError(f"{where}: a segment is a JSON object")
    if not node:
        return sql.SQL("TRUE")
    keys = set(node)
    if keys in ({"all"}, {"any"}):
        (combinator,) = keys
        parts = node[combinator]
        if not isinstance(parts, list) or not parts:
            raise SegmentError(f"{where}.{combinator}: a non-empty list of segments")
        compiled = [
            _compile(part, params, f"{where}.{combinator}[{i}]", depth + 1, counter)
            for i, part in enumerate(parts)
        ]
        joiner = sql.SQL(" AND " if combinator == "all" else " OR ")
        return sql.SQL("({})").format(joiner.join(compiled))
    if keys == {"not"}:
        inner = _compile(node["not"], params, f"{where}.not", depth + 1, counter)
        return sql.SQL("NOT ({})").format(inner)
    if "engagement" in keys:
        return _engagement(node, params, where)
    if "field" in keys:
        return _condition(node, params, where)
    raise SegmentError(
        f"{where}: expected one of all, any, not, field or engagement, got {sorted(keys)}"
    )


def _engagement(node: dict[str, Any], params: list[Any], where: str) -> sql.Composable:
    if set(node) != {"engagement", "within_days"}:
        raise SegmentError(f"{where}: an engagement condition has engagement and within_days")
    kind, days = node["engagement"], node["within_days"]
    if kind not in ENGAGEMENTS:
        raise SegmentError(f"{where}.engagement: one of {sorted(ENGAGEMENTS)}, not {kind!r}")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 730:
        raise SegmentError(f"{where}.within_days: a whole number of days from 1 to 730")
    params += [kind, days]
    return sql.SQL(
        "EXISTS (SELECT 1 FROM email_events e WHERE e.contact_id = c.contact_id "
        "AND e.org_id = c.org_id AND e.type = %s AND NOT e.is_bot "
        "AND e.event_time > now() - make_interval(days => %s))"
    )


def _condition(node: dict[str, Any], params: list[Any], where: str) -> sql.Composable:
    if not set(node) <= {"field", "op", "value"} or "op" not in node:
        raise SegmentError(f"{where}: a field condition has field, op and value")
    field, op, value = node["field"], node["op"], node.get("value")
    if op not in OPERATORS:
        raise SegmentError(f"{where}.op: one of {sorted(OPERATORS)}, not {op!r}")
    if not isinstance(field, str):
        raise SegmentError(f"{where}.field: a field name")
    match = ATTRIBUTE.match(field)
    if field in COLUMNS:
        text: sql.Composable = sql.SQL("c.{}").format(sql.Identifier(field))
        if field == "country":
            text = sql.SQL("upper(c.country)")
            value = _upper(value)
        present: sql.Composable = sql.SQL("TRUE")
    elif match:
        text = sql.SQL("(c.attributes ->> {})").format(sql.Literal(match.group(1)))
        present = sql.SQL("c.attributes ? {}").format(sql.Literal(match.group(1)))
    else:
        raise SegmentError(
            f"{where}.field: one of {sorted(COLUMNS)} or attributes.<name>, not {field!r}"
        )
    if op == "exists":
        if not isinstance(value, bool):
            raise SegmentError(f"{where}.value: exists takes true or false")
        return present if value else sql.SQL("NOT ({})").format(present)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not 0 < len(value) <= MAX_LIST:
            raise SegmentError(f"{where}.value: {op} takes a list of 1 to {MAX_LIST} values")
        params.append([_scalar_text(v, where) for v in value])
        template = (
            "coalesce({} = ANY(%s), false)" if op == "in" else "NOT coalesce({} = ANY(%s), false)"
        )
        return sql.SQL(template).format(text)
    if op == "contains":
        if not isinstance(value, str) or not value:
            raise SegmentError(f"{where}.value: contains takes a non-empty string")
        params.append(value)
        return sql.SQL("coalesce(strpos({}, %s) > 0, false)").format(text)
    if op in ("gt", "gte", "lt", "lte"):
        if not match:
            raise SegmentError(f"{where}.op: {op} compares numeric attributes only")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SegmentError(f"{where}.value: {op} takes a number")
        params.append(float(value))
        return sql.SQL(
            "(CASE WHEN jsonb_typeof(c.attributes -> {}) = 'number' "
            "THEN (c.attributes ->> {})::double precision {} %s ELSE false END)"
        ).format(sql.Literal(match.group(1)), sql.Literal(match.group(1)), sql.SQL(COMPARISONS[op]))
    params.append(_scalar_text(value, where))
    if op == "eq":
        return sql.SQL("coalesce({} = %s, false)").format(text)
    return sql.SQL("coalesce({} <> %s, true)").format(text)


def _scalar_text(value: Any, where: str) -> str:
    """Attribute values compare as their JSON text (``->>``): true, 3, "pro" -> pro."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise SegmentError(f"{where}.value: strings, numbers or booleans, not {type(value).__name__}")


def _upper(value: Any) -> Any:
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, list):
        return [v.upper() if isinstance(v, str) else v for v in value]
    return value
