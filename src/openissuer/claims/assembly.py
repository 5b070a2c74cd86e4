"""Apply parsed claim mappings to a context: the runtime algorithm of reference §4.4.

For each mapping: resolve ``mapFrom``; if that is missing use ``defaultValue``; if that is missing too, fail
when ``required`` ("the credential is not issued", §4.1) or omit the claim; otherwise coerce to ``type``.
A coercion failure is an issuance failure (§4.4 [I]). ``null`` from a source counts as missing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from openissuer.claims.claim_type import ClaimTypeError
from openissuer.claims.coercion import coerce_claim_value
from openissuer.claims.context import ClaimsContext
from openissuer.claims.mappings import ClaimMapping, ClaimMappings
from openissuer.claims.path import MISSING, format_claim_path, resolve_claim_path
from openissuer.errors import ClaimMappingError


def apply_claim_mappings(mappings: ClaimMappings, context: ClaimsContext | Mapping[str, Any]) -> dict[str, Any]:
    """Build the credential's claims: ``{namespace: {claim: value}}``, or ``{claim: value}`` for namespace None.

    Raises ``ClaimMappingError`` naming the namespace and claim for a missing required value or an uncoercible
    one. A namespace whose claims were all omitted does not appear (ISO 18013-5 namespaces are non-empty).
    """
    data = context.to_dict() if isinstance(context, ClaimsContext) else context
    result: dict[str, Any] = {}
    for mapping in mappings.mappings:
        value = resolve_claim_mapping(mapping, data)
        if value is MISSING:
            continue
        if mapping.namespace is None:
            result[mapping.claim] = value
        else:
            result.setdefault(mapping.namespace, {})[mapping.claim] = value
    return result


def resolve_claim_mapping(mapping: ClaimMapping, data: Mapping[str, Any]) -> object:
    """Return one mapping's coerced value, or ``MISSING`` for an unresolved optional claim.

    Reference §4.1: "A required claim with a defaultValue falls back to the default; issuance fails only when
    neither a mapped value nor a default exists."
    """
    value = resolve_claim_path(mapping.map_from, data) if mapping.map_from is not None else MISSING
    if value is MISSING:
        if mapping.default_value is not MISSING:
            # Defaults were coerced at parse time; copy so no credential can mutate the shared configuration.
            return copy.deepcopy(mapping.default_value)
        if mapping.required:
            raise ClaimMappingError(
                f"Required {_name(mapping)} has no value",
                namespace=mapping.namespace,
                claim=mapping.claim,
                detail=f"mapFrom {_path_text(mapping)} resolved to nothing and no defaultValue is configured",
            )
        return MISSING
    try:
        return coerce_claim_value(value, mapping.claim_type)
    except ClaimTypeError as error:
        # The reason names only types and formats: claim values are personal data and stay out of messages.
        raise ClaimMappingError(
            f"The value of {_name(mapping)} {error}",
            namespace=mapping.namespace,
            claim=mapping.claim,
            detail=f"mapFrom {_path_text(mapping)}",
        ) from error


def _name(mapping: ClaimMapping) -> str:
    if mapping.namespace is None:
        return f"claim '{mapping.claim}'"
    return f"claim '{mapping.claim}' in namespace '{mapping.namespace}'"


def _path_text(mapping: ClaimMapping) -> str:
    return format_claim_path(mapping.map_from) if mapping.map_from is not None else "(none)"
