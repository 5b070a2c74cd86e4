"""The keyed permutation status-list indexes are handed out in: every index exactly once, keyed, unguessable."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openissuer.crypto.index_permutation import IndexPermutation


@settings(max_examples=40, deadline=None)
@given(size=st.integers(min_value=1, max_value=3000), key=st.binary(min_size=16, max_size=32))
def test_every_index_is_handed_out_exactly_once(size: int, key: bytes) -> None:
    permutation = IndexPermutation(key, size)
    assert sorted(permutation.index_at(p) for p in range(size)) == list(range(size))


def test_the_order_depends_on_the_key_and_looks_random() -> None:
    first = [IndexPermutation(b"a" * 32, 1_000_000).index_at(p) for p in range(200)]
    assert first == [IndexPermutation(b"a" * 32, 1_000_000).index_at(p) for p in range(200)]  # deterministic
    assert first != [IndexPermutation(b"b" * 32, 1_000_000).index_at(p) for p in range(200)]
    gaps = [abs(b - a) for a, b in itertools.pairwise(first)]
    assert sum(gap < 1000 for gap in gaps) < 5  # neighbours in time are far apart in the list
    assert 400_000 < sum(first) / len(first) < 600_000  # spread over the whole list


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        IndexPermutation(b"short", 10)
    with pytest.raises(ValueError, match="size"):
        IndexPermutation(b"k" * 16, 0)
    with pytest.raises(ValueError, match="position"):
        IndexPermutation(b"k" * 16, 10).index_at(10)
