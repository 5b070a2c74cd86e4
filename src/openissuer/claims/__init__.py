"""Claim assembly shared by every credential format: the ``mapFrom`` path language, type coercion, merging.

Typical use (a service, at issuance time)::

    mappings = parse_claim_mappings(configuration["claimMappings"])          # once, when the config is saved/loaded
    claims = merge_claim_sources(persisted=user_claims, offer=offer_claims)  # reference §4.4 precedence
    context = ClaimsContext(claims, AuthenticatedSubject(idp_url, sub), configuration)
    values = apply_claim_mappings(mappings, context)                         # {namespace: {claim: value}}

Decisions (reference MATTR VII §4; items marked [I] there are our choices):

- ``null`` is missing. A path ending on (or passing through) ``null`` resolves to ``MISSING``, so the default
  applies, a required claim fails and an optional one is omitted; a ``null`` source value never overrides another
  source; a ``null`` ``defaultValue`` is rejected when the configuration is parsed.
- Precedence of sources: persisted < offer < ID token < interaction hook < claims source (``sources``).
- ``date`` takes the calendar date as written from a date-time string; ``dateTime`` accepts a full-date as
  midnight UTC and epoch seconds (``temporal``).
- ``defaultValue`` is coerced to ``type`` when the configuration is parsed, so a bad default is a configuration
  error (``ValidationError``), never an issuance error.
- Errors never quote a claim value (personal data): only JSON type names and format rules.
"""

from openissuer.claims.assembly import apply_claim_mappings, resolve_claim_mapping
from openissuer.claims.claim_type import ClaimType, ClaimTypeError
from openissuer.claims.coercion import coerce_claim_value
from openissuer.claims.context import CONTEXT_ROOTS, AuthenticatedSubject, ClaimsContext
from openissuer.claims.mappings import ClaimLabel, ClaimMapping, ClaimMappings, parse_claim_mappings
from openissuer.claims.path import (
    MISSING,
    ClaimPath,
    ClaimPathSegment,
    ClaimPathSyntaxError,
    ClaimPointer,
    Missing,
    format_claim_path,
    parse_claim_path,
    parse_claim_pointer,
    resolve_claim_path,
)
from openissuer.claims.sources import merge_claim_sources

__all__ = [
    "CONTEXT_ROOTS",
    "MISSING",
    "AuthenticatedSubject",
    "ClaimLabel",
    "ClaimMapping",
    "ClaimMappings",
    "ClaimPath",
    "ClaimPathSegment",
    "ClaimPathSyntaxError",
    "ClaimPointer",
    "ClaimType",
    "ClaimTypeError",
    "ClaimsContext",
    "Missing",
    "apply_claim_mappings",
    "coerce_claim_value",
    "format_claim_path",
    "merge_claim_sources",
    "parse_claim_mappings",
    "parse_claim_path",
    "parse_claim_pointer",
    "resolve_claim_mapping",
    "resolve_claim_path",
]
