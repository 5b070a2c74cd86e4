"""Check a pre-authorized offer's claims against its configurations when the offer is created.

A configuration without a claims source gets its claims from the user's persisted claims and the offer alone,
so whether they give a credential is known now: a required claim without a value, or a value its mapping cannot
coerce (an impossible date, a non-finite number), would otherwise be found only at the credential request, after
the offer was used up. Configurations with a claims source are not checked (the source may supply what is missing).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from openissuer.claims import (
    MISSING,
    ClaimsContext,
    ClaimTypeError,
    format_claim_path,
    parse_claim_path,
    resolve_claim_mapping,
    resolve_claim_path,
)
from openissuer.claims.mappings import ClaimMapping
from openissuer.claims.temporal import coerce_date_time
from openissuer.errors import ClaimMappingError, ErrorDetail
from openissuer.services.configurations import PreparedConfiguration


def find_offer_claim_problems(
    configurations: Sequence[PreparedConfiguration], claims: Mapping[str, Any]
) -> list[ErrorDetail]:
    """Return one detail per claim the offer's configurations cannot issue from ``claims`` (persisted < offer).

    Details name the claim (``param``: its ``mapFrom`` path, e.g. ``claims.birth_date``) and never echo its value.
    """
    details: list[ErrorDetail] = []
    for prepared in configurations:
        if prepared.configuration.claim_source_id is not None:
            continue
        context = ClaimsContext(claims, None, prepared.context).to_dict()
        where = f"(credential configuration {prepared.configuration.id})"
        for mapping in prepared.mappings.mappings:
            try:
                resolve_claim_mapping(mapping, context)
            except ClaimMappingError as exc:
                details.append(ErrorDetail("body", _param(mapping), f"{exc.description} {where}"))
        configuration = prepared.configuration
        validity = (("validFrom", configuration.valid_from_path), ("validUntil", configuration.valid_until_path))
        for field, path in validity:
            if path is None:
                continue
            parsed = parse_claim_path(path)
            value = resolve_claim_path(parsed, context)
            if value is MISSING:
                continue
            try:
                coerce_date_time(value)
            except ClaimTypeError as exc:
                details.append(ErrorDetail("body", format_claim_path(parsed), f"{field}: {exc} {where}"))
    return details


def find_non_finite_numbers(claims: Mapping[str, Any]) -> list[ErrorDetail]:
    """Return a detail per NaN or infinite number in ``claims`` (JSON has none; Python's parser lets them in)."""
    return [
        ErrorDetail("body", path, "must be a finite number (JSON has no NaN or Infinity)")
        for path in _non_finite_paths(claims, "claims")
    ]


def _non_finite_paths(value: object, path: str) -> Iterator[str]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite_paths(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _non_finite_paths(item, f"{path}[{index}]")


def _param(mapping: ClaimMapping) -> str:
    return format_claim_path(mapping.map_from) if mapping.map_from is not None else "claims"
