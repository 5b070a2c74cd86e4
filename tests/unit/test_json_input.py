"""Strict JSON at the edge: each refused input, and what stays accepted."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openissuer.domain.json_input import MAX_DEPTH, JsonInputError, parse_json_input

DECODE = r"at line \d+, column \d+"  # orjson refused it: its fixed text and the position, never the input


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": 1, "a": 2}', "duplicate"),
        (b'{"x": {"a": "u:v", "a": 2}}', "duplicate"),  # a ":" inside a string takes the careful path
        (b'[{"k": 1}, {"k": 1, "k": 1}]', "duplicate"),
        (b"NaN", DECODE),
        (b'{"a": Infinity}', DECODE),
        (b"[1e400]", DECODE),
        (b"[-1e400]", DECODE),
        (b"[123456789012345678901234567890]", "out of range"),
        (b"[9223372036854775808]", "out of range"),
        (b"[1e19]", "out of range"),
        (b'"\\ud800"', DECODE),
        (b'{"\\udfff": 1}', DECODE),
        (b'"\xed\xa0\x80"', DECODE),
        (b'"a\\u0000b"', "NUL"),
        (b'{"a\\u0000": 1}', "NUL"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "deep"),
        (b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), "deep"),
        (b"{", DECODE),
        (b'"\x01"', DECODE),
    ],
)
def test_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(JsonInputError, match=reason):
        parse_json_input(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "b": {"a": 1}}',
        b'{"url": "https://x.example/a:b", "urn": "urn:ietf:params:oauth:grant-type:pre-authorized_code"}',
        b'"\\\\u0000"',  # a backslash and "u0000", not a NUL
        b"[9223372036854775807, -9223372036854775807, 1.5e18, true, null]",
        b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
        b'{"\xc3\xa9": "\xf0\x9f\x98\x80"}',
    ],
)
def test_accepted(raw: bytes) -> None:
    assert parse_json_input(raw) == json.loads(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63) + 1, 2**63 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_every_clean_document_reads_as_the_standard_library_reads_it(value: object) -> None:
    raw = json.dumps(value).encode()
    has_nul = "\\u0000" in raw.decode()
    try:
        parsed = parse_json_input(raw)
    except JsonInputError as exc:
        assert has_nul or "deep" in str(exc)
        return
    assert parsed == value
