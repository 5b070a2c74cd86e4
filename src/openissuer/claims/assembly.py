"""Apply parsed claim mappings to a context: the runtime algorithm of reference §4.4.

For each mapping: resolve ``mapFrom``; if that is missing use ``defaultValue``; if that is missing too, fail
when ``required`` ("the credential is not issued", §4.1) or omit the claim; otherwise coerce to ``type``.
A coercion failure is an issuance failure (§4.4 [I]). ``null`` from a source counts as missing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from openissuer.claims.claim_type import ClaimTypeError
from openissuer.claims.coercion import coerce_claim_value
from openissuer.claims.context import ClaimsContext
from openissuer.claims.mappings import ClaimMapping, ClaimMappings
from openissuer.claims.path import MISSING, format_claim_path, resolve_claim_path
from openissuer.errors import ClaimMappingError


def apply_claim_mappings(mappings: ClaimMappings, context: ClaimsContext | Mapping[str, Any]) -> dict[str, Any]:
    """Build the credential's claims: ``{namespace: {claim: value}}``, or ``{claim: value}`` for namespace None;
    when claim names are positions, each value is placed there (``address.locality`` -> ``{"address":
    {"locality": v}}``, ``nationalities[1]`` -> the second element of ``nationalities``).

    Raises ``ClaimMappingError`` naming the namespace and claim for a missing required value or an uncoercible
    one. A namespace (a container) whose claims were all omitted does not appear (ISO 18013-5 namespaces are
    non-empty); an array whose configured positions are partly omitted closes up, keeping their order.
    Flag entries carry no value and are skipped.
    """
    data = context.to_dict() if isinstance(context, ClaimsContext) else context
    result: dict[Any, Any] = {}
    nested = False
    for mapping in mappings.mappings:
        if mapping.is_flag_entry:
            continue
        value = resolve_claim_mapping(mapping, data)
        if value is MISSING:
            continue
        pointer = mapping.pointer
        node: dict[Any, Any] = result
        for segment, following in pairwise(pointer):
            nested = nested or isinstance(following, int)
            node = node.setdefault(segment, _Positions() if isinstance(following, int) else {})
        node[pointer[-1]] = value
    return _close_arrays(result) if nested else result


class _Positions(dict[Any, Any]):
    """An array being filled by position; becomes a list once every mapping has run."""


def _close_arrays(node: dict[Any, Any]) -> Any:
    for key, value in node.items():
        if isinstance(value, _Positions) or (type(value) is dict and value):
            node[key] = _close_arrays(value)
    if isinstance(node, _Positions):
        return [node[index] for index in sorted(node)]
    return node


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
