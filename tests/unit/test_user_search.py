"""Users search semantics: exact, recursive for objects, strict about JSON types."""

from __future__ import annotations

from typing import Any

import pytest

from openissuer.domain.users import claims_match


@pytest.mark.parametrize(
    ("wanted", "actual", "matches"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, True),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": 1}, {"a": "1"}, False),
        ({"a": True}, {"a": 1}, False),
        ({"a": 1}, {"a": True}, False),
        ({"a": {"b": "x"}}, {"a": {"b": "x", "c": "y"}}, True),
        ({"a": {"b": "x"}}, {"a": "x"}, False),
        ({"a": ["x", {"b": 1}]}, {"a": ["x", {"b": 1, "c": 2}]}, True),
        ({"a": ["x"]}, {"a": ["x", "y"]}, False),
        ({"a": None}, {"a": None}, True),
        ({"a": None}, {}, False),
        ({}, {"anything": 1}, True),
    ],
)
def test_claims_match(wanted: Any, actual: Any, matches: bool) -> None:
    assert claims_match(wanted, actual) is matches
