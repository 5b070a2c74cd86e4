"""The mapFrom path language: parsing, malformed paths, canonical formatting and resolution."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openissuer.claims import (
    MISSING,
    ClaimPath,
    ClaimPathSyntaxError,
    format_claim_path,
    parse_claim_path,
    resolve_claim_path,
)
from openissuer.claims.path import MAX_INDEX
from openissuer.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("claims", ("claims",)),
        ("claims.given_name", ("claims", "given_name")),
        ("claims.address.street", ("claims", "address", "street")),
        ("authenticationProvider.subjectId", ("authenticationProvider", "subjectId")),
        ("claims['given name']", ("claims", "given name")),
        ('claims["x.y"]', ("claims", "x.y")),
        ("claims['https://example.com/claim-name']", ("claims", "https://example.com/claim-name")),
        ("claims.emails[0]", ("claims", "emails", 0)),
        ("claims.matrix[10][2].value", ("claims", "matrix", 10, 2, "value")),
        ("claims['a'][\"b\"].c", ("claims", "a", "b", "c")),
        ("['claims'].x", ("claims", "x")),
        ("claims['']", ("claims", "")),
        (r"claims['it\'s']", ("claims", "it's")),
        (r'claims["say \"hi\""]', ("claims", 'say "hi"')),
        (r"claims['back\\slash']", ("claims", "back\\slash")),
        ("claims['[0]']", ("claims", "[0]")),
        ("claims.0", ("claims", "0")),
        ("claims.données", ("claims", "données")),
        ("claims.a-b:c", ("claims", "a-b:c")),
    ],
)
def test_parse_valid_paths(text: str, expected: ClaimPath) -> None:
    assert parse_claim_path(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "the path is empty"),
        ("claims.", 7, "empty segment"),
        (".claims", 0, "empty segment"),
        ("claims..name", 7, "empty segment"),
        ("claims.[0]", 7, "empty segment"),
        ("claims['name", 7, "unterminated quoted key"),
        ('claims["name', 7, "unterminated quoted key"),
        ("claims['name\\", 7, "unterminated quoted key"),
        ("claims['name'", 13, "expected ']'"),
        ("claims['a'b]", 10, "expected ']'"),
        ("claims[", 6, "unterminated '['"),
        ("claims[0", 6, "unterminated '['"),
        ("claims[]", 7, "empty brackets"),
        ("claims[-1]", 7, "bad index '-1'"),
        ("claims[01]", 7, "bad index '01'"),
        ("claims[1.5]", 7, "bad index '1.5'"),
        ("claims[ 0 ]", 7, "bad index ' 0 '"),
        ("claims[name]", 7, "bad index 'name'"),
        ("claims[0]x", 9, "expected '.' or '['"),
        ("claims x", 6, "expected '.' or '['"),
        ("claims]", 6, "expected '.' or '['"),
        ("[0].claims", 0, "must start with a key"),
        ("claims.'x'", 7, "unexpected character"),
        ("claims.a\\b", 8, "expected '.' or '['"),
        (r"claims['a\n']", 9, "unsupported escape"),
    ],
)
def test_parse_malformed_paths_name_position_and_reason(text: str, position: int, reason: str) -> None:
    with pytest.raises(ClaimPathSyntaxError) as caught:
        parse_claim_path(text)
    assert caught.value.position == position
    assert reason in caught.value.reason
    assert caught.value.path == text


def test_path_syntax_error_is_a_validation_error_with_details() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_claim_path("claims..x")
    (detail,) = caught.value.details
    assert (detail.location, detail.param, detail.value) == ("body", "mapFrom", "claims..x")
    assert "position 7" in detail.msg


def test_format_claim_path_is_canonical() -> None:
    path: ClaimPath = ("claims", "given name", "emails", 0, "it's", "plain")
    assert format_claim_path(path) == "claims['given name'].emails[0]['it\\'s'].plain"


_KEYS = st.text(max_size=12)
_SEGMENTS = st.one_of(_KEYS, st.integers(min_value=0, max_value=MAX_INDEX))
_PATHS = st.tuples(_KEYS).flatmap(lambda head: st.lists(_SEGMENTS, max_size=6).map(lambda tail: head + tuple(tail)))


@given(_PATHS)
def test_format_then_parse_round_trips(path: ClaimPath) -> None:
    assert parse_claim_path(format_claim_path(path)) == path


@given(st.text(max_size=40))
def test_parse_arbitrary_text_returns_a_path_or_raises_the_syntax_error(text: str) -> None:
    try:
        path = parse_claim_path(text)
    except ClaimPathSyntaxError as error:
        assert 0 <= error.position <= len(text)
    else:
        assert path
        assert isinstance(path[0], str)
        assert parse_claim_path(format_claim_path(path)) == path


@given(_PATHS, st.integers())
def test_resolve_finds_a_value_placed_at_the_path(path: ClaimPath, leaf: int) -> None:
    data: object = leaf
    for segment in reversed(path):
        data = [None] * segment + [data] if isinstance(segment, int) else {segment: data}
    assert isinstance(data, dict)
    assert resolve_claim_path(path, data) == leaf


_DATA = {
    "claims": {
        "given_name": "Ada",
        "address": {"street": "1 Main St"},
        "emails": ["a@example.com", "b@example.com"],
        "nothing": None,
        "listed": [None],
        "0": "zero-key",
        "text": "abc",
        "count": 0,
        "flag": False,
    }
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("claims.given_name", "Ada"),
        ("claims.address.street", "1 Main St"),
        ("claims.emails[1]", "b@example.com"),
        ("claims.0", "zero-key"),
        ("claims.count", 0),
        ("claims.flag", False),
    ],
)
def test_resolve_existing_paths(text: str, expected: object) -> None:
    assert resolve_claim_path(parse_claim_path(text), _DATA) == expected


@pytest.mark.parametrize(
    "text",
    [
        "claims.family_name",
        "claims.address.city",
        "claims.emails[2]",
        "claims.emails.0",
        "claims[0]",
        "claims.text[0]",
        "claims.given_name.first",
        "claims.count.x",
        "claims.nothing",
        "claims.nothing.deeper",
        "claims.listed[0]",
        "authenticationProvider.subjectId",
    ],
)
def test_resolve_missing_and_null_paths_yield_missing(text: str) -> None:
    assert resolve_claim_path(parse_claim_path(text), _DATA) is MISSING


def test_missing_has_a_readable_repr() -> None:
    assert repr(MISSING) == "MISSING"
