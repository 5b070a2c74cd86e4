"""Transaction codes (OID4VCI 1.0 §4.1.1 ``tx_code``): generation for the issuer to send out of band."""

from __future__ import annotations

from collections.abc import Callable

from openissuer.domain.offers import TxCodeConfiguration, TxCodeInputMode

DIGITS = "0123456789"
# Upper-case letters and digits without the look-alikes 0/O and 1/I/L, so a holder can type what they read.
TEXT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MIN_LENGTH, MAX_LENGTH = 4, 12
MAX_DESCRIPTION_LENGTH = 300  # §4.1.1: description "MUST NOT exceed 300 characters"


def generate_tx_code(config: TxCodeConfiguration, random_below: Callable[[int], int]) -> str:
    """Return a code of ``config.length`` characters drawn uniformly by ``random_below`` (``secrets.randbelow``)."""
    alphabet = DIGITS if config.input_mode is TxCodeInputMode.NUMERIC else TEXT_ALPHABET
    return "".join(alphabet[random_below(len(alphabet))] for _ in range(config.length))
