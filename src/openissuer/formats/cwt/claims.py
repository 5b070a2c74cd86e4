"""The CWT claims map of a compact credential (reference platform §9.2, decoded from its published samples).

Standard claims use the RFC 8392 §4 labels: 1 ``iss`` (the issuer's ``did:web``), 2 ``sub``, 3 ``aud``, 4 ``exp``,
5 ``nbf``, 6 ``iat``, 7 ``cti`` (16 random bytes under CBOR tag 64, a typed array of uint8, RFC 8746). The
reference adds two private labels: -65539 ``type`` (text) and -65537 ``status`` ``{2: index, 3: list URL}``. Custom
claims use their text names as keys and have string, number or boolean values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import cbor2

from openissuer.domain.compact_credentials import (
    RESERVED_CLAIM_NAMES,
    CompactClaims,
    CompactCredentialError,
    CompactStatus,
    CustomClaimValue,
    VerificationFailure,
)

ISS, SUB, AUD, EXP, NBF, IAT, CTI = 1, 2, 3, 4, 5, 6, 7
STATUS = -65537
TYPE = -65539
STATUS_INDEX, STATUS_URL = 2, 3
UINT8_ARRAY_TAG = 64
TOKEN_ID_LENGTH = 16
_TIMES = {EXP: "exp", NBF: "nbf", IAT: "iat"}


def encode_claims(claims: CompactClaims) -> bytes:
    """Return the CBOR claims map (the COSE_Sign1 payload)."""
    claims_map: dict[int | str, Any] = {ISS: claims.issuer}
    for label, value in (
        (SUB, claims.subject),
        (AUD, claims.audience),
        (EXP, claims.expires_at),
        (NBF, claims.not_before),
        (IAT, claims.issued_at),
    ):
        if value is not None:
            claims_map[label] = value
    claims_map[CTI] = cbor2.CBORTag(UINT8_ARRAY_TAG, claims.token_id)
    if claims.credential_type is not None:
        claims_map[TYPE] = claims.credential_type
    claims_map.update(claims.custom)
    if claims.status is not None:
        claims_map[STATUS] = {STATUS_INDEX: claims.status.index, STATUS_URL: claims.status.url}
    return cbor2.dumps(claims_map)


def decode_claims(payload: bytes) -> CompactClaims:
    """Parse a claims map; ``PayloadInvalid`` for anything §9.2 does not allow."""
    try:
        claims_map = cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError) as exc:
        raise _invalid("The CWT claims are not CBOR") from exc
    if not isinstance(claims_map, Mapping):
        raise _invalid("The CWT claims must be a map")
    issuer = claims_map.get(ISS)
    if not isinstance(issuer, str) or not issuer:
        raise _invalid("The CWT has no iss claim")
    custom: dict[str, CustomClaimValue] = {}
    for label, value in claims_map.items():
        if isinstance(label, str):
            custom[label] = _custom_value(label, value)
        elif isinstance(label, bool) or not isinstance(label, int) or label not in _KNOWN_LABELS:
            raise _invalid(f"The CWT has an unknown claim label {label!r}")
    return CompactClaims(
        issuer=issuer,
        token_id=_token_id(claims_map.get(CTI)),
        credential_type=_text(claims_map, TYPE, "type"),
        issued_at=_time(claims_map, IAT),
        not_before=_time(claims_map, NBF),
        expires_at=_time(claims_map, EXP),
        subject=_text(claims_map, SUB, "sub"),
        audience=_text(claims_map, AUD, "aud"),
        status=_status(claims_map.get(STATUS)),
        custom=custom,
    )


def find_custom_value_problem(value: object) -> str | None:
    """Say why a value cannot be a custom claim's (None when it can): strings, finite numbers and booleans only."""
    if isinstance(value, bool | str | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    return "must be a string, a number or a boolean"


_KNOWN_LABELS = frozenset({ISS, SUB, AUD, EXP, NBF, IAT, CTI, STATUS, TYPE})


def _custom_value(name: str, value: object) -> CustomClaimValue:
    if name in RESERVED_CLAIM_NAMES:
        raise _invalid(f"The custom claim name {name!r} is reserved for a standard claim")
    problem = find_custom_value_problem(value)
    if problem is not None:
        raise _invalid(f"The claim {name!r} {problem}")
    return value  # type: ignore[return-value]


def _token_id(value: object) -> bytes:
    if isinstance(value, cbor2.CBORTag) and value.tag == UINT8_ARRAY_TAG:
        value = value.value
    if not isinstance(value, bytes) or not value:
        raise _invalid("The CWT has no cti claim (a byte string)")
    return value


def _text(claims_map: Mapping[Any, Any], label: int, name: str) -> str | None:
    value = claims_map.get(label)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"The {name} claim must be text")
    return value


def _time(claims_map: Mapping[Any, Any], label: int) -> int | None:
    value = claims_map.get(label)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(f"The {_TIMES[label]} claim must be seconds since the epoch")
    return value


def _status(value: object) -> CompactStatus | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _invalid("The status claim must be a map")
    index, url = value.get(STATUS_INDEX), value.get(STATUS_URL)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0 or not isinstance(url, str) or not url:
        raise _invalid("The status claim needs an index (2) and a list URL (3)")
    return CompactStatus(index=index, url=url)


def _invalid(message: str) -> CompactCredentialError:
    return CompactCredentialError(VerificationFailure.PAYLOAD_INVALID, message)
