"""Ids are random version 4 UUIDs in their canonical text form (the path-id checks and the SQL columns rely on it)."""

from __future__ import annotations

import uuid

from openissuer.domain.ids import new_id


def test_new_ids_are_canonical_random_version_4_uuids() -> None:
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == value
    assert {value[19] for value in ids} == set("89ab")  # every variant nibble occurs: the two bits are random
