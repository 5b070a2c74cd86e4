"""Reading others' Token Status Lists: entries of every width, how long a list is kept, the ``status`` claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openissuer.protocol.status_list_reading import (
    StatusListReadError,
    StatusListSnapshot,
    StatusReference,
    read_status_reference,
)

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def pack(bits: int, values: dict[int, int], size: int) -> bytes:
    """The draft's §4.1 example packing, written out: entry i at bit i*bits, least significant bit first."""
    number = sum(value << index * bits for index, value in values.items())
    return number.to_bytes(size * bits // 8, "little")


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_every_entry_of_every_width_is_read(bits: int) -> None:
    values = {index: (index * 7 + 3) % (1 << bits) for index in range(64)}
    snapshot = StatusListSnapshot("u", bits, pack(bits, values, 64), None, None)
    assert [snapshot.status_at(i) for i in range(64)] == [values[i] for i in range(64)]
    with pytest.raises(StatusListReadError, match="no entry 64"):
        snapshot.status_at(64)


def test_the_draft_example_of_one_bit_entries() -> None:
    """draft-ietf-oauth-status-list §4.1: statuses 1,0,0,1,1,1,0,1 | 1,1,0,0,0,1,0,1 are the bytes 0xB9 0xA3."""
    snapshot = StatusListSnapshot("u", 1, bytes([0xB9, 0xA3]), None, None)
    assert [snapshot.status_at(i) for i in range(16)] == [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]


@pytest.mark.parametrize(
    ("ttl", "exp", "kept"),
    [
        (None, None, timedelta(minutes=5)),
        (60, None, timedelta(seconds=60)),
        (86400, None, timedelta(hours=1)),
        (600, NOW + timedelta(seconds=30), timedelta(seconds=30)),
        (0, None, timedelta(0)),
    ],
)
def test_a_list_is_kept_for_its_ttl_within_bounds(ttl: int | None, exp: datetime | None, kept: timedelta) -> None:
    snapshot = StatusListSnapshot("u", 1, b"\0", exp, ttl)
    assert snapshot.usable_until(NOW, timedelta(minutes=5), timedelta(hours=1)) == NOW + kept


def test_the_status_claim() -> None:
    assert read_status_reference({}) is None
    assert read_status_reference({"status": {"other_mechanism": {}}}) is None
    found = read_status_reference({"status": {"status_list": {"idx": 0, "uri": "https://p.example/l"}}})
    assert found == StatusReference("https://p.example/l", 0)
    for bad in ([], {"status_list": []}, {"status_list": {"idx": 1.0, "uri": "u"}}, {"status_list": {"idx": 1}}):
        with pytest.raises(StatusListReadError):
            read_status_reference({"status": bad})
