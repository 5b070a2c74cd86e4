"""Type coercion for every claim type: accepted inputs, results, and failures that never echo the value."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from openissuer.claims import ClaimType, ClaimTypeError, coerce_claim_value

_PNG = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"


@pytest.mark.parametrize(
    ("claim_type", "value", "expected"),
    [
        (ClaimType.STRING, "Ada", "Ada"),
        (ClaimType.STRING, "", ""),
        (ClaimType.STRING, 12345, "12345"),
        (ClaimType.NUMBER, 42, 42),
        (ClaimType.NUMBER, -7, -7),
        (ClaimType.NUMBER, 2**80, 2**80),
        (ClaimType.NUMBER, 4.5, 4.5),
        (ClaimType.NUMBER, 3.0, 3.0),
        (ClaimType.NUMBER, "42", 42),
        (ClaimType.NUMBER, "-0", 0),
        (ClaimType.NUMBER, "4.25", 4.25),
        (ClaimType.NUMBER, "1e3", 1000.0),
        (ClaimType.NUMBER, "-2.5E-1", -0.25),
        (ClaimType.BOOLEAN, True, True),
        (ClaimType.BOOLEAN, False, False),
        (ClaimType.BOOLEAN, "true", True),
        (ClaimType.BOOLEAN, "false", False),
        (ClaimType.ARRAY, ["a", 1], ["a", 1]),
        (ClaimType.ARRAY, ("a", 1), ["a", 1]),
        (ClaimType.ARRAY, [], []),
        (ClaimType.OBJECT, {"k": [1]}, {"k": [1]}),
        (ClaimType.OBJECT, {}, {}),
    ],
)
def test_scalar_and_container_coercion(claim_type: ClaimType, value: object, expected: object) -> None:
    result = coerce_claim_value(value, claim_type)
    assert result == expected
    assert type(result) is type(expected)


def test_untyped_values_pass_through_unchanged() -> None:
    value = {"nested": [1, "two", True]}
    assert coerce_claim_value(value, None) is value


def test_array_and_object_results_are_copies() -> None:
    source_list, source_dict = [1], {"a": 1}
    assert coerce_claim_value(source_list, ClaimType.ARRAY) is not source_list
    assert coerce_claim_value(source_dict, ClaimType.OBJECT) is not source_dict


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1990-05-17", date(1990, 5, 17)),
        ("2024-02-29", date(2024, 2, 29)),
        ("1990-05-17T00:00:00Z", date(1990, 5, 17)),
        ("1990-05-17T00:00:00+10:00", date(1990, 5, 17)),
        ("1990-05-17T23:30:00-05:00", date(1990, 5, 17)),
        (date(2001, 1, 1), date(2001, 1, 1)),
        (datetime(2001, 1, 1, 23, 0, tzinfo=timezone(timedelta(hours=-3))), date(2001, 1, 1)),
    ],
)
def test_date_accepts_full_dates_and_takes_the_written_date_of_date_times(value: object, expected: date) -> None:
    result = coerce_claim_value(value, ClaimType.DATE)
    assert result == expected
    assert type(result) is date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-17T09:30:00Z", datetime(2024, 5, 17, 9, 30, tzinfo=UTC)),
        ("2024-05-17t09:30:00z", datetime(2024, 5, 17, 9, 30, tzinfo=UTC)),
        ("2024-05-17T09:30:00.5+02:00", datetime(2024, 5, 17, 9, 30, 0, 500000, tzinfo=timezone(timedelta(hours=2)))),
        ("2024-05-17T09:30:00.123456789Z", datetime(2024, 5, 17, 9, 30, 0, 123456, tzinfo=UTC)),
        ("2024-05-17T09:30:00-00:00", datetime(2024, 5, 17, 9, 30, tzinfo=UTC)),
        ("2024-05-17T09:30:00-05:30", datetime(2024, 5, 17, 15, 0, tzinfo=UTC)),
        ("1990-05-17", datetime(1990, 5, 17, tzinfo=UTC)),
        (date(1990, 5, 17), datetime(1990, 5, 17, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1700000000.5, datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)),
        (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_date_time_returns_timezone_aware_datetimes(value: object, expected: datetime) -> None:
    result = coerce_claim_value(value, ClaimType.DATE_TIME)
    assert isinstance(result, datetime)
    assert result == expected
    assert result.utcoffset() is not None


def test_date_time_keeps_the_written_offset() -> None:
    result = coerce_claim_value("2024-05-17T09:30:00+10:00", ClaimType.DATE_TIME)
    assert isinstance(result, datetime)
    assert result.utcoffset() == timedelta(hours=10)


@pytest.mark.parametrize(
    "value",
    [
        "iVBORw0KGgoA//4=",
        "iVBORw0KGgoA//4",
        "iVBORw0KGgoA__4",
        "iVBORw0K\r\nGgoA//4=\n",
        "data:image/png;base64,iVBORw0KGgoA//4=",
        "DATA:image/png;charset=binary;BASE64,iVBORw0KGgoA__4=",
        _PNG,
        bytearray(_PNG),
    ],
)
def test_bytes_accepts_base64_base64url_and_data_uris(value: object) -> None:
    assert coerce_claim_value(value, ClaimType.BYTES) == _PNG


@pytest.mark.parametrize(("text", "expected"), [("YQ", b"a"), ("YQ==", b"a"), ("YWI", b"ab"), ("YWI=", b"ab")])
def test_bytes_padding_is_optional(text: str, expected: bytes) -> None:
    assert coerce_claim_value(text, ClaimType.BYTES) == expected


_SECRET = "Zebra-7391"  # a stand-in for personal data; must never appear in an error message

_FAILURES: list[tuple[ClaimType, object, str]] = [
    (ClaimType.STRING, True, "got boolean"),
    (ClaimType.STRING, 1.5, "got number"),
    (ClaimType.STRING, ["a"], "got array"),
    (ClaimType.STRING, {"a": 1}, "got object"),
    (ClaimType.NUMBER, True, "got boolean"),
    (ClaimType.NUMBER, _SECRET, "not a JSON number"),
    (ClaimType.NUMBER, " 42", "not a JSON number"),
    (ClaimType.NUMBER, "0x1F", "not a JSON number"),
    (ClaimType.NUMBER, "NaN", "not a JSON number"),
    (ClaimType.NUMBER, "1" * 500, "not a JSON number"),
    (ClaimType.NUMBER, "1e999", "out of the floating-point range"),
    (ClaimType.NUMBER, float("inf"), "not finite"),
    (ClaimType.NUMBER, float("nan"), "not finite"),
    (ClaimType.NUMBER, [1], "got array"),
    (ClaimType.BOOLEAN, "True", 'neither "true" nor "false"'),
    (ClaimType.BOOLEAN, "yes", 'neither "true" nor "false"'),
    (ClaimType.BOOLEAN, 1, "got number"),
    (ClaimType.BOOLEAN, 0, "got number"),
    (ClaimType.DATE, _SECRET, "full-date"),
    (ClaimType.DATE, "1990-5-17", "full-date"),
    (ClaimType.DATE, "17/05/1990", "full-date"),
    (ClaimType.DATE, "1990-02-30", "not a valid calendar date"),
    (ClaimType.DATE, "1990-05-17T25:00:00Z", "not a valid calendar date, time of day or offset"),
    (ClaimType.DATE, 19900517, "got number"),
    (ClaimType.DATE, "\uff11\uff19\uff19\uff10-05-17", "full-date"),
    (ClaimType.DATE_TIME, "2023-01-02T03:04:05", "with an offset"),
    (ClaimType.DATE_TIME, "2023-01-02 03:04:05Z", "with an offset"),
    (ClaimType.DATE_TIME, "2023-01-02T03:04Z", "with an offset"),
    (ClaimType.DATE_TIME, "2024-05-17T09:30:00+24:00", "offset"),
    (ClaimType.DATE_TIME, "2016-12-31T23:59:60Z", "leap seconds"),
    (ClaimType.DATE_TIME, "2024-13-01T00:00:00Z", "not a valid calendar date"),
    (ClaimType.DATE_TIME, "2024-13-01", "not a valid calendar date"),
    (ClaimType.DATE_TIME, datetime(2024, 1, 1), "no timezone offset"),
    (ClaimType.DATE_TIME, True, "got boolean"),
    (ClaimType.DATE_TIME, float("nan"), "finite"),
    (ClaimType.DATE_TIME, 1e20, "representable range"),
    (ClaimType.DATE_TIME, ["2024-01-01"], "got array"),
    (ClaimType.BYTES, "", "empty"),
    (ClaimType.BYTES, "=", "empty"),
    (ClaimType.BYTES, "Zebra-7391+/", "neither base64 nor base64url"),
    (ClaimType.BYTES, "YQ===", "invalid length or padding"),
    (ClaimType.BYTES, "YWJjZ", "invalid length or padding"),
    (ClaimType.BYTES, "YQ=", "invalid length or padding"),
    (ClaimType.BYTES, "Y=Q=", "neither base64 nor base64url"),
    (ClaimType.BYTES, "data:image/png,Zebra%20", "not base64-encoded"),
    (ClaimType.BYTES, "data:image/png;base64", "no ','"),
    (ClaimType.BYTES, 123, "got number"),
    (ClaimType.ARRAY, _SECRET, "got string"),
    (ClaimType.ARRAY, {"a": 1}, "got object"),
    (ClaimType.OBJECT, [1], "got array"),
    (ClaimType.OBJECT, _SECRET, "got string"),
]


@pytest.mark.parametrize(("claim_type", "value", "reason"), _FAILURES)
def test_uncoercible_values_raise_with_a_reason(claim_type: ClaimType, value: object, reason: str) -> None:
    with pytest.raises(ClaimTypeError) as caught:
        coerce_claim_value(value, claim_type)
    assert caught.value.claim_type is claim_type
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"cannot be coerced to {claim_type.value}: ")


@pytest.mark.parametrize(("claim_type", "value", "reason"), _FAILURES)
def test_failure_messages_never_contain_the_value(claim_type: ClaimType, value: object, reason: str) -> None:
    with pytest.raises(ClaimTypeError) as caught:
        coerce_claim_value(value, claim_type)
    message = str(caught.value)
    assert _SECRET not in message
    if isinstance(value, str) and len(value) > 2:
        assert value not in message
