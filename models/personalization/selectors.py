"""Dynamic-content specs of templates, and choosing a variant per recipient.

A template version carries, as JSONB, one entry per slot::

    {"hero_image": {"options": ["A", "B", "C"],
                    "selector": {"rule": [{"if": {"attribute": "country", "in": ["DE", "FR"]},
                                           "then": "B"}],
                                 "default": "A"}},
     "subject_line": {"options": [{"key": "A"}, {"key": "B"}], "selector": "learned"},
     "footer": {"options": ["A", "B"], "selector": "random"}}

Options are variant keys, given as strings or as objects with a ``"key"`` (the shape of
``template_versions.variants``). A rule selector is an ordered list of ``if``/``then``; the
first matching rule wins, else ``default``. Conditions compare one attribute
(``in``, ``not_in``, ``equals``, ``not_equals``, ``gt``, ``gte``, ``lt``, ``lte``,
``exists``) or combine others (``all``, ``any``, ``not``). A missing attribute only matches
``{"exists": false}``; a comparison with a value of the wrong type is false, never an error,
so a recipient with odd data still gets the default rather than failing the send.

Every choice reports the probability with which it was made (1 for rules, 1/k for random,
the policy's propensity for learned), which is what off-policy evaluation needs later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import SpecError

LEARNED = "learned"
RANDOM = "random"
_COMPARISONS = ("in", "not_in", "equals", "not_equals", "gt", "gte", "lt", "lte", "exists")
_MISSING = object()

Condition = Callable[[Mapping[str, Any]], bool]
# (slot name, options, recipient attributes, rng) -> (variant, probability of that choice)
LearnedChooser = Callable[
    [str, tuple[str, ...], Mapping[str, Any], np.random.Generator], tuple[str, float]
]


@dataclass(frozen=True)
class Rule:
    """``then`` is chosen when ``condition(attributes)`` holds."""

    condition: Condition
    then: str


@dataclass(frozen=True)
class RuleSelector:
    rules: tuple[Rule, ...]
    default: str

    def __call__(self, attributes: Mapping[str, Any]) -> str:
        """The variant of the first matching rule, else the default (a pure function)."""
        for rule in self.rules:
            if rule.condition(attributes):
                return rule.then
        return self.default


@dataclass(frozen=True)
class SlotSpec:
    """One slot: its options and a selector (a ``RuleSelector``, ``"learned"`` or ``"random"``)."""

    name: str
    options: tuple[str, ...]
    selector: RuleSelector | str


@dataclass(frozen=True)
class Choice:
    """The variant chosen for a slot, the probability of that choice, and who chose it."""

    variant: str
    probability: float
    selector: str  # "rule", "random" or "learned"


def parse_dynamic_content(spec: Any) -> dict[str, SlotSpec]:
    """Validate a template's dynamic-content spec; raises ``SpecError`` on anything malformed."""
    if not isinstance(spec, Mapping):
        raise SpecError("the dynamic-content spec must be an object of slots")
    return {_slot_name(name): _parse_slot(str(name), body) for name, body in spec.items()}


def choose_variant(
    slot: SlotSpec,
    attributes: Mapping[str, Any],
    rng: np.random.Generator,
    learned: LearnedChooser | None = None,
) -> Choice:
    """Choose ``slot``'s variant for one recipient.

    A ``learned`` slot asks ``learned``; without one (no trained policy yet) it falls back
    to uniform random, which is also the exploration a new policy needs.
    """
    if isinstance(slot.selector, RuleSelector):
        return Choice(slot.selector(attributes), 1.0, "rule")
    if slot.selector == LEARNED and learned is not None:
        variant, probability = learned(slot.name, slot.options, attributes, rng)
        if variant not in slot.options:
            raise SpecError(f"learned policy chose {variant!r}, not an option", slot=slot.name)
        return Choice(str(variant), float(probability), "learned")
    index = int(rng.integers(len(slot.options)))
    return Choice(slot.options[index], 1.0 / len(slot.options), "random")


def choose_all(
    spec: Mapping[str, SlotSpec],
    attributes: Mapping[str, Any],
    rng: np.random.Generator,
    learned: LearnedChooser | None = None,
) -> dict[str, Choice]:
    """``choose_variant`` for every slot of a parsed spec."""
    return {name: choose_variant(slot, attributes, rng, learned) for name, slot in spec.items()}


def _slot_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise SpecError(f"slot names must be non-empty strings, got {name!r}")
    return name


def _parse_slot(name: str, body: Any) -> SlotSpec:
    if not isinstance(body, Mapping):
        raise SpecError("a slot must be an object with options and selector", slot=name)
    unknown = set(body) - {"options", "selector"}
    if unknown:
        raise SpecError(f"unknown fields {sorted(unknown)}", slot=name)
    options = _parse_options(name, body.get("options"))
    selector = body.get("selector", RANDOM)
    if selector in (LEARNED, RANDOM):
        return SlotSpec(name, options, selector)
    if isinstance(selector, str):
        raise SpecError(f"unknown selector {selector!r}", slot=name, path="selector")
    return SlotSpec(name, options, _parse_rule_selector(name, selector, options))


def _parse_options(slot: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise SpecError("options must be a non-empty list", slot=slot, path="options")
    keys = []
    for i, option in enumerate(raw):
        key = option.get("key") if isinstance(option, Mapping) else option
        if not isinstance(key, str) or not key:
            raise SpecError(
                "an option must be a key or an object with a key", slot=slot, path=f"options[{i}]"
            )
        keys.append(key)
    if len(set(keys)) != len(keys):
        raise SpecError("option keys must be unique", slot=slot, path="options")
    return tuple(keys)


def _parse_rule_selector(slot: str, raw: Any, options: tuple[str, ...]) -> RuleSelector:
    if not isinstance(raw, Mapping) or set(raw) != {"rule", "default"}:
        raise SpecError(
            'a rule selector is {"rule": [...], "default": option}', slot=slot, path="selector"
        )
    if raw["default"] not in options:
        raise SpecError(
            f"default {raw['default']!r} is not an option", slot=slot, path="selector.default"
        )
    if not isinstance(raw["rule"], list):
        raise SpecError("rule must be a list", slot=slot, path="selector.rule")
    rules = []
    for i, item in enumerate(raw["rule"]):
        path = f"selector.rule[{i}]"
        if not isinstance(item, Mapping) or set(item) != {"if", "then"}:
            raise SpecError('each rule is {"if": condition, "then": option}', slot=slot, path=path)
        if item["then"] not in options:
            raise SpecError(f"then {item['then']!r} is not an option", slot=slot, path=path)
        rules.append(Rule(_parse_condition(slot, f"{path}.if", item["if"]), item["then"]))
    return RuleSelector(tuple(rules), raw["default"])


def _parse_condition(slot: str, path: str, raw: Any) -> Condition:
    if not isinstance(raw, Mapping):
        raise SpecError("a condition must be an object", slot=slot, path=path)
    if set(raw) in ({"all"}, {"any"}):
        ((kind, items),) = raw.items()
        if not isinstance(items, list) or not items:
            raise SpecError(f"{kind} needs a non-empty list", slot=slot, path=path)
        parts = [_parse_condition(slot, f"{path}.{kind}[{i}]", c) for i, c in enumerate(items)]
        combine = all if kind == "all" else any
        return lambda attrs: combine(part(attrs) for part in parts)
    if set(raw) == {"not"}:
        inner = _parse_condition(slot, f"{path}.not", raw["not"])
        return lambda attrs: not inner(attrs)
    ops = [key for key in raw if key != "attribute"]
    attribute = raw.get("attribute")
    if not isinstance(attribute, str) or not attribute:
        raise SpecError("a comparison needs an attribute name", slot=slot, path=path)
    if len(ops) != 1 or ops[0] not in _COMPARISONS:
        raise SpecError(
            f"a comparison needs exactly one of {list(_COMPARISONS)}", slot=slot, path=path
        )
    return _comparison(slot, path, attribute, ops[0], raw[ops[0]])


def _comparison(slot: str, path: str, attribute: str, op: str, value: Any) -> Condition:
    if op in ("in", "not_in"):
        if not isinstance(value, list):
            raise SpecError(f"{op} needs a list", slot=slot, path=path)
        members = frozenset(_hashable(v) for v in value)
        inside = op == "in"
        return _present(attribute, lambda x: (_hashable(x) in members) == inside)
    if op in ("equals", "not_equals"):
        equal = op == "equals"
        return _present(attribute, lambda x: (x == value) == equal)
    if op == "exists":
        if not isinstance(value, bool):
            raise SpecError("exists needs true or false", slot=slot, path=path)
        return lambda attrs: (attrs.get(attribute, _MISSING) not in (_MISSING, None)) == value
    if not _is_number(value):
        raise SpecError(f"{op} needs a number", slot=slot, path=path)
    compare: Callable[[float], bool] = {
        "gt": lambda x: x > value,
        "gte": lambda x: x >= value,
        "lt": lambda x: x < value,
        "lte": lambda x: x <= value,
    }[op]
    return _present(attribute, lambda x: _is_number(x) and compare(x))


def _present(attribute: str, test: Callable[[Any], bool]) -> Condition:
    def condition(attrs: Mapping[str, Any]) -> bool:
        value = attrs.get(attribute, _MISSING)
        return value is not _MISSING and value is not None and bool(test(value))

    return condition


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else repr(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
