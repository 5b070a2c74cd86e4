"""Salts and digest IDs of mdoc items come from the injected random source only (formats/mso_mdoc/issuer_signed.py)."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

import cbor2
import pytest

from openissuer.formats.mso_mdoc.issuer_signed import SALT_SIZE, create_signed_elements, generate_digest_ids

CLAIMS = {"org.iso.18013.5.1": {"given_name": "Ana", "family_name": "Ngata", "age_over_18": True}}


def scripted(*draws: bytes) -> tuple[Callable[[int], bytes], list[int]]:
    """A random source returning ``draws`` in order; it records the sizes asked for."""
    asked: list[int] = []
    queue = list(draws)

    def random_bytes(size: int) -> bytes:
        asked.append(size)
        return queue.pop(0)

    return random_bytes, asked


def ids(*values: int) -> bytes:
    return struct.pack(f">{len(values)}I", *values)


def test_digest_ids_are_drawn_at_once_and_a_collision_is_drawn_again() -> None:
    random_bytes, asked = scripted(ids(7, 7, 9), ids(9), ids(0xFFFF_FFFF))
    assert generate_digest_ids(3, random_bytes) == [7, 9, 0x7FFF_FFFF]
    assert asked == [12, 4, 4]


def test_a_random_source_returning_too_few_bytes_is_refused() -> None:
    random_bytes, _ = scripted(b"\x00" * 11)
    with pytest.raises(ValueError, match="12 bytes"):
        generate_digest_ids(3, random_bytes)
    random_bytes, _ = scripted(ids(1, 2, 3), b"\x00" * (3 * SALT_SIZE - 1))
    with pytest.raises(ValueError, match=f"{3 * SALT_SIZE} bytes"):
        create_signed_elements(CLAIMS, random_bytes)


def test_each_item_gets_its_own_slice_of_one_salt_draw() -> None:
    salts = random.Random(5).randbytes(3 * SALT_SIZE)
    random_bytes, asked = scripted(ids(10, 20, 30), salts)
    elements = create_signed_elements(CLAIMS, random_bytes)
    assert asked == [12, 3 * SALT_SIZE]
    items = [cbor2.loads(cbor2.loads(element.item_bytes).value) for element in elements]
    assert [item["digestID"] for item in items] == [10, 20, 30]
    assert [item["random"] for item in items] == [salts[i * SALT_SIZE : (i + 1) * SALT_SIZE] for i in range(3)]


def test_two_credentials_share_no_salt_and_no_digest_id_sequence() -> None:
    source = random.Random(11).randbytes
    first, second = create_signed_elements(CLAIMS, source), create_signed_elements(CLAIMS, source)
    assert not {e.item_bytes for e in first} & {e.item_bytes for e in second}
    assert [e.digest_id for e in first] != [e.digest_id for e in second]
