"""Credential Offers (OID4VCI 1.0 §4.1): the object and the URI a wallet receives.

Offers carry the draft-era ``credentials`` member beside ``credential_configuration_ids``, with the same ids, as the
reference platform's offers do (§2.2, "backward compatibility with older wallets"); OID4VCI 1.0 wallets ignore it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from openissuer.domain.offers import TxCodeConfiguration
from openissuer.protocol.metadata import PRE_AUTHORIZED_GRANT
from openissuer.protocol.offer_delivery import DEFAULT_CREDENTIAL_OFFER_ENDPOINT, create_offer_uri

OFFER_SCHEME = DEFAULT_CREDENTIAL_OFFER_ENDPOINT


def create_pre_authorized_offer(
    *,
    credential_issuer: str,
    configuration_ids: Sequence[str],
    pre_authorized_code: str,
    tx_code: TxCodeConfiguration | None,
) -> dict[str, Any]:
    """Return a Credential Offer object with the pre-authorized_code grant (and ``tx_code`` when one is needed)."""
    grant: dict[str, Any] = {"pre-authorized_code": pre_authorized_code}
    if tx_code is not None:
        # §4.1.1: "If the Credential Offer contains tx_code, a Transaction Code is required."
        grant["tx_code"] = {"input_mode": tx_code.input_mode.value, "length": tx_code.length}
        if tx_code.description:
            grant["tx_code"]["description"] = tx_code.description
    return {
        "credential_issuer": credential_issuer,
        "credentials": list(configuration_ids),
        "credential_configuration_ids": list(configuration_ids),
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


def create_authorization_code_offer(
    *,
    credential_issuer: str,
    configuration_ids: Sequence[str],
    issuer_state: str,
    request_parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a Credential Offer for the Authorization Code flow (§4.1.1 ``authorization_code`` grant).

    ``request_parameters`` (reference platform §3.1) are parameters the wallet should add to its authorization
    request, e.g. ``login_hint``; wallets that do not know the member ignore it.
    """
    offer: dict[str, Any] = {
        "credential_issuer": credential_issuer,
        "credentials": list(configuration_ids),
        "credential_configuration_ids": list(configuration_ids),
        "grants": {"authorization_code": {"issuer_state": issuer_state}},
    }
    if request_parameters:
        offer["request_parameters"] = request_parameters
    return offer


def create_offer_uri_by_value(offer: dict[str, Any], endpoint: str | None = None) -> str:
    """Return ``openid-credential-offer://?credential_offer=<URL-encoded JSON>`` (§4.1.2), or the same query at
    the wallet's ``endpoint`` (``protocol/offer_delivery.py``)."""
    encoded = quote(json.dumps(offer, separators=(",", ":")), safe="")
    return create_offer_uri(endpoint, "credential_offer", encoded)


def create_offer_uri_by_reference(offer_url: str, endpoint: str | None = None) -> str:
    """Return ``openid-credential-offer://?credential_offer_uri=<URL-encoded https URL>`` (§4.1.3), or the same
    query at the wallet's ``endpoint``."""
    return create_offer_uri(endpoint, "credential_offer_uri", quote(offer_url, safe=""))
