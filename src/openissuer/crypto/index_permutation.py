"""A keyed pseudorandom permutation of ``[0, size)``: the order in which status-list indexes are handed out.

A balanced Feistel network over the smallest even number of bits that covers ``size`` (round function: SHA-256 over
a 32-byte round key, derived from the key with HMAC, and the fixed-length right half, truncated), with cycle walking
to stay below ``size``. A Feistel
network is a permutation whatever its round function, and cycle walking a permutation of the subset; with a keyed
PRF as round function and enough rounds (Luby-Rackoff: four give a strong pseudorandom permutation; eight here) the
sequence ``index_at(0), index_at(1), ...`` is, to anyone without the key, a uniformly random draw without
replacement: the next index is any free one, unrelated to the ones before.
"""

from __future__ import annotations

import hashlib
import hmac

ROUNDS = 8
MIN_KEY_LENGTH = 16


class IndexPermutation:
    """``index_at(position)``: the index handed out at ``position`` (each of ``[0, size)`` exactly once)."""

    def __init__(self, key: bytes, size: int) -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"the permutation key must have at least {MIN_KEY_LENGTH} bytes")
        if size < 1:
            raise ValueError("the size must be positive")
        self._size = size
        half = max(1, ((size - 1).bit_length() + 1) // 2)
        self._half_bits = half
        self._mask = (1 << half) - 1
        self._round_keys = [hmac.new(key, f"round {r}".encode(), hashlib.sha256).digest() for r in range(ROUNDS)]

    @property
    def size(self) -> int:
        """How many indexes there are."""
        return self._size

    def index_at(self, position: int) -> int:
        """Return the index handed out at ``position``; ValueError outside ``[0, size)``."""
        if not 0 <= position < self._size:
            raise ValueError("position out of range")
        value = self._encrypt(position)
        while value >= self._size:  # cycle walking: stays inside [0, size) and is still a permutation
            value = self._encrypt(value)
        return value

    def _encrypt(self, value: int) -> int:
        left, right = value >> self._half_bits, value & self._mask
        for round_key in self._round_keys:
            digest = hashlib.sha256(round_key + right.to_bytes(8, "big")).digest()
            left, right = right, left ^ (int.from_bytes(digest[:8], "big") & self._mask)
        return (left << self._half_bits) | right
