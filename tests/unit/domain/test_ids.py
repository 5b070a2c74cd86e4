"""Ids are random version 4 UUIDs in their canonical text form (the path-id checks and the SQL columns rely on it)."""

from __future__ import annotations

import os
import uuid

from openissuer.domain.ids import new_hex_id, new_id, uuid_text


def test_new_ids_are_canonical_random_version_4_uuids() -> None:
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == value
    assert {value[19] for value in ids} == set("89ab")  # every variant nibble occurs: the two bits are random


def test_hex_ids_are_random_version_4_uuids_as_32_hex_digits() -> None:
    ids = [new_hex_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and parsed.hex == value
    assert {value[16] for value in ids} == set("89ab")


def test_uuid_text_is_what_uuid_gives_with_the_version_and_variant_bits_set() -> None:
    for _ in range(2000):
        raw = os.urandom(16)
        for version in (4, 8):
            expected = bytearray(raw)
            expected[6] = (expected[6] & 0x0F) | (version << 4)
            expected[8] = (expected[8] & 0x3F) | 0x80
            assert uuid_text(raw, str(version)) == str(uuid.UUID(bytes=bytes(expected)))
