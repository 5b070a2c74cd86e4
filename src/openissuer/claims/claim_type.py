"""The ``type`` of a claim mapping and the error a value raises when it cannot become that type."""

from __future__ import annotations

import enum
from collections.abc import Mapping


class ClaimType(enum.StrEnum):
    """The wire values of a mapping's ``type`` (reference §4.3: verified names plus the inferred rest)."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATE_TIME = "dateTime"
    BYTES = "bytes"
    ARRAY = "array"
    OBJECT = "object"


class ClaimTypeError(ValueError):
    """A value cannot be coerced to a claim type; ``reason`` says why without ever quoting the value.

    Claim values are personal data, so the reason names only JSON type names and format rules. The mapping
    layer turns this into ``ClaimMappingError`` (issuance) or a ``ValidationError`` detail (configuration).
    """

    def __init__(self, claim_type: ClaimType, reason: str) -> None:
        super().__init__(f"cannot be coerced to {claim_type.value}: {reason}")
        self.claim_type = claim_type
        self.reason = reason


def describe_json_type(value: object) -> str:
    """Name the JSON type of ``value`` (``string``, ``number``, ...) for messages that must not show the value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    if value is None:
        return "null"
    return type(value).__name__
