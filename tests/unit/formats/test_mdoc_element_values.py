"""CBOR encoding of mdoc element values (formats/mso_mdoc/element_values.py)."""

from __future__ import annotations

import enum
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta, timezone
from types import MappingProxyType

import cbor2
import pytest

from openissuer.formats.mso_mdoc.element_values import ElementValueError, encode_element_value, encode_tdate


def test_tdate_is_utc_whole_seconds_with_z() -> None:
    moment = datetime(2025, 3, 4, 13, 5, 6, 789_000, tzinfo=timezone(timedelta(hours=13)))
    assert encode_tdate(moment) == cbor2.CBORTag(0, "2025-03-04T00:05:06Z")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ElementValueError, match="timezone-aware"):
        encode_element_value(datetime(2025, 1, 1))


def test_full_dates_use_tag_1004() -> None:
    assert encode_element_value(date(1990, 1, 2)) == cbor2.CBORTag(1004, "1990-01-02")


@pytest.mark.parametrize("value", ["text", 7, -3, 2**70, 1.5, True, False, b"\x00\xff"])
def test_scalars_keep_their_cbor_type(value: object) -> None:
    encoded = encode_element_value(value)
    assert encoded == value
    assert type(encoded) is type(value)


def test_lists_and_maps_recurse() -> None:
    value = {"codes": [{"code": "B", "issue_date": date(2020, 5, 6)}], "at": datetime(2020, 1, 1, tzinfo=UTC)}
    assert encode_element_value(value) == {
        "codes": [{"code": "B", "issue_date": cbor2.CBORTag(1004, "2020-05-06")}],
        "at": cbor2.CBORTag(0, "2020-01-01T00:00:00Z"),
    }
    assert encode_element_value(bytearray(b"ab")) == b"ab"


@pytest.mark.parametrize("value", [None, {1: "int key"}, {"a"}, object()])
def test_values_without_an_encoding_are_refused_without_quoting_them(value: object) -> None:
    with pytest.raises(ElementValueError) as caught:
        encode_element_value(value)
    assert "int key" not in str(caught.value)


class _Code(enum.StrEnum):
    B = "B"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, "a"), [1, "a"]),
        (OrderedDict(a=date(2020, 5, 6)), {"a": cbor2.CBORTag(1004, "2020-05-06")}),
        (_Code.B, _Code.B),
        ([[bytearray(b"x")]], [[b"x"]]),
        (MappingProxyType({"k": 1}), {"k": 1}),
    ],
)
def test_other_containers_and_subclasses_take_the_general_path(value: object, expected: object) -> None:
    assert encode_element_value(value) == expected


def test_a_plain_dict_with_a_non_string_key_is_refused() -> None:
    with pytest.raises(ElementValueError, match="string keys"):
        encode_element_value({"a": {2: "b"}})
