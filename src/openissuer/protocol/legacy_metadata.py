"""What the reference platform's issuer metadata carries beyond OID4VCI 1.0, for wallets written against it or
against earlier drafts (reference §3.4), derived from the 1.0 documents so the two never disagree:

- each ``credential_configurations_supported`` entry also names its ``id`` and has its ``display`` at the top level
  (drafts 12-13 put it there; 1.0 moved it into ``credential_metadata``);
- ``credentials_supported``: the draft-11 array, one object per configuration with ``id``, ``format``, the format's
  type members (``doctype``, ``vct``, ...), ``cryptographic_binding_methods_supported``,
  ``cryptographic_suites_supported``, ``display`` and ``claims`` as the nested object of those drafts
  (``{namespace: {element: {mandatory, display}}}`` for mDocs);
- the authorization server's members the reference repeats in the issuer metadata (``issuer``,
  ``authorization_endpoint``, ``token_endpoint``, ``scopes_supported``, ``grant_types_supported``, ...), copied from
  the AS metadata so that they appear exactly when the flow they describe can run.

OID4VCI 1.0 wallets ignore all of these (unknown members "MUST be ignored").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AS_MEMBERS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "code_challenge_methods_supported",
)
# Members of a 1.0 entry that a draft-era entry carries unchanged.
_COPIED = ("format", "scope", "doctype", "vct", "credential_definition", "cryptographic_binding_methods_supported")


def add_legacy_issuer_members(
    metadata: dict[str, Any], authorization_server_metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """Return ``metadata`` (a 1.0 issuer metadata document) with the members described in the module docstring."""
    entries: dict[str, Any] = metadata["credential_configurations_supported"]
    legacy: dict[str, Any] = {k: v for k, v in authorization_server_metadata.items() if k in AS_MEMBERS}
    legacy.update(metadata)
    legacy["credential_configurations_supported"] = {
        configuration_id: _with_id(configuration_id, entry) for configuration_id, entry in entries.items()
    }
    legacy["credentials_supported"] = [
        create_draft_entry(configuration_id, entry) for configuration_id, entry in entries.items()
    ]
    return legacy


def _with_id(configuration_id: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    with_id: dict[str, Any] = {"id": configuration_id, **entry}
    display = (entry.get("credential_metadata") or {}).get("display")
    if display is not None and "display" not in entry:
        with_id["display"] = display
    return with_id


def create_draft_entry(configuration_id: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Return the draft-11 ``credentials_supported`` object of a 1.0 configuration entry."""
    draft: dict[str, Any] = {"id": configuration_id}
    draft.update((name, entry[name]) for name in _COPIED if name in entry)
    if "credential_signing_alg_values_supported" in entry:
        draft["cryptographic_suites_supported"] = entry["credential_signing_alg_values_supported"]
    if "proof_types_supported" in entry:
        draft["proof_types_supported"] = entry["proof_types_supported"]
    credential_metadata = entry.get("credential_metadata") or {}
    if "display" in credential_metadata:
        draft["display"] = credential_metadata["display"]
    claims = create_nested_claims(credential_metadata.get("claims") or ())
    if claims:
        draft["claims"] = claims
    return draft


def create_nested_claims(claims: Any) -> dict[str, Any]:
    """Turn 1.0 claims descriptions (``{path, mandatory?, display?}``) into the drafts' nested object; a path
    through array elements (integers, null) has no place in it and is left out."""
    nested: dict[str, Any] = {}
    for claim in claims:
        path = claim.get("path") or []
        if not path or not all(isinstance(part, str) for part in path):
            continue
        node = nested
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            description = {k: claim[k] for k in ("mandatory", "display") if k in claim}
            existing = node.get(path[-1])
            node[path[-1]] = {**existing, **description} if isinstance(existing, dict) else description
    return nested
