"""The Status List byte array against the draft's own examples and test vectors (draft-ietf-oauth-status-list §4.1,
Appendix "Test vectors"), decompressed by zlib and read back by the independent ``token-status-list`` package."""

from __future__ import annotations

import random
import zlib

import pytest
from token_status_list import BitArray

from openissuer.protocol.token_status_list import choose_bits, compress_status_bytes, create_status_bytes

ONE_BIT = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
TWO_BITS = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
LONG_ONE_BIT = [0, 1993, 25460, 159495, 495669, 554353, 645645, 723232, 854545, 934534, 1000345]


def _values(statuses: list[int]) -> dict[int, int]:
    return {index: value for index, value in enumerate(statuses) if value}


def test_the_drafts_examples_bit_for_bit() -> None:
    assert create_status_bytes(16, 1, _values(ONE_BIT)) == bytes.fromhex("b9a3")
    assert create_status_bytes(12, 2, _values(TWO_BITS)) == bytes.fromhex("c944f9")
    # "compressed array (hex): 78dadbb918000217015d" and "78da3be9f2130003df0207" (zlib, highest level)
    assert compress_status_bytes(bytes.fromhex("b9a3")) == bytes.fromhex("78dadbb918000217015d")
    assert compress_status_bytes(bytes.fromhex("c944f9")) == bytes.fromhex("78da3be9f2130003df0207")


def test_the_long_one_bit_vector_reads_back_with_an_independent_reader() -> None:
    array = create_status_bytes(1_048_576, 1, dict.fromkeys(LONG_ONE_BIT, 1))
    reader = BitArray(1, bytearray(zlib.decompress(compress_status_bytes(array))))
    assert [i for i in (*LONG_ONE_BIT, 1, 1992, 1994, 1_048_575) if reader.get(i)] == LONG_ONE_BIT


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_random_lists_of_every_width_read_back(bits: int) -> None:
    rng = random.Random(bits)
    size = 999  # not a multiple of the entries per byte: the last byte is partly unused
    values = {rng.randrange(size): rng.randrange(1, 1 << bits) for _ in range(200)}
    reader = BitArray(bits, bytearray(create_status_bytes(size, bits, values)))  # type: ignore[arg-type]
    assert all(reader.get(i) == values.get(i, 0) for i in range(size))


def test_bits_are_the_fewest_that_hold_every_status_and_bad_entries_are_refused() -> None:
    assert [choose_bits({}), choose_bits({3: 1}), choose_bits({3: 1, 4: 2}), choose_bits({1: 12})] == [1, 1, 2, 4]
    with pytest.raises(ValueError, match="does not fit"):
        create_status_bytes(8, 1, {8: 1})
    with pytest.raises(ValueError, match="does not fit"):
        create_status_bytes(8, 1, {0: 2})
