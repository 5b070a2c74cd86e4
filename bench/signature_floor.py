"""The signature floor: the CPU cost of the cryptography one issuance cannot avoid.

One mDoc issuance verifies one ES256 signature (the wallet's key proof) and makes one (the MSO's COSE_Sign1).
Both are timed here with ``cryptography`` on P-256 in batches; the median batch is the floor.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

MESSAGE = bytes(range(256)) * 2  # about the size of a proof's signing input or an MSO


@dataclass(frozen=True)
class Floor:
    sign_ms: float
    verify_ms: float
    batches: int
    per_batch: int

    @property
    def ms(self) -> float:
        return self.sign_ms + self.verify_ms


def _batch_cpu_ms(action: Callable[[], None], count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        action()
    return (time.process_time() - started) * 1000 / count


def measure_floor(*, batches: int = 7, per_batch: int = 400) -> Floor:
    """Return the median per-operation CPU time of ES256 sign and verify over ``batches`` batches."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    algorithm = ec.ECDSA(hashes.SHA256())
    signature = key.sign(MESSAGE, algorithm)

    def sign() -> None:
        key.sign(MESSAGE, algorithm)

    def verify() -> None:
        public.verify(signature, MESSAGE, algorithm)

    for action in (sign, verify):  # warm up
        _batch_cpu_ms(action, 50)
    sign_ms = statistics.median(_batch_cpu_ms(sign, per_batch) for _ in range(batches))
    verify_ms = statistics.median(_batch_cpu_ms(verify, per_batch) for _ in range(batches))
    return Floor(sign_ms=sign_ms, verify_ms=verify_ms, batches=batches, per_batch=per_batch)


if __name__ == "__main__":
    floor = measure_floor()
    print(f"ES256 sign {floor.sign_ms * 1000:.1f} µs + verify {floor.verify_ms * 1000:.1f} µs = {floor.ms:.3f} ms")
