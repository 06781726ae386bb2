"""Tool arguments made up from a tool's JSON schema, deterministically.

The auto brain has to propose a tool call that passes the registry's schema
check without understanding the conversation. The registry puts realistic
``examples`` on every property, so those come first; ``default`` and a
type-shaped placeholder cover schemas that lack them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["arguments_from_schema", "value_for"]

_STRING_FORMATS = {
    "date": "2027-01-01",
    "date-time": "2027-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def arguments_from_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments for an object schema: every required property, plus the
    optional ones that carry an example or a default."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = set(schema.get("required") or [])
    args: dict[str, Any] = {}
    for name, prop in properties.items():
        prop = prop if isinstance(prop, dict) else {}
        if name in required or "examples" in prop or "default" in prop:
            args[name] = value_for(prop)
    return args


def value_for(prop: dict[str, Any]) -> Any:
    """One value for a property schema: example, default, const, enum, placeholder."""
    examples = prop.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    for key in ("default", "const"):
        if key in prop:
            return prop[key]
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    return _placeholder(prop)


def _first_type(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        variants = prop.get("anyOf") or prop.get("oneOf") or []
        if variants and isinstance(variants[0], dict):
            return _first_type(variants[0])
        return "string"
    return str(kind)


def _placeholder(prop: dict[str, Any]) -> Any:
    kind = _first_type(prop)
    if kind == "string":
        return _STRING_FORMATS.get(str(prop.get("format")), "example")
    if kind in ("integer", "number"):
        low = prop.get("minimum", prop.get("exclusiveMinimum", 0))
        value = max(1, int(low) + 1)
        return value if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "array":
        items = prop.get("items")
        return [value_for(items)] if isinstance(items, dict) and prop.get("minItems") else []
    if kind == "object":
        return arguments_from_schema(prop)
    return None
