"""The audit events and webhook messages of the wallet-facing steps: token issued or refused, offer redeemed or
locked, interaction hook completed or failed, claims source called or failed, credential issued or refused.

They are written by the statements of the steps themselves (``ports/wallet_store.py``). Their data holds ids, names
and error codes only: never a code, a transaction code, a proof, a token or a claim value.

Which refusals are recorded: those of a request that reached a known offer, authorization code or access grant
(a wrong transaction code, a used or expired code, a replayed authorization code, a credential request with a live
token). A request with an unknown code or token, or malformed input, changes nothing and is not recorded: anyone
can send such requests, so recording them would let anyone grow the database; they are counted in the logs and
metrics instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openissuer.domain.authorization import AuthorizationCode
from openissuer.domain.events import (
    CLAIM_SOURCE_CALLED,
    CLAIM_SOURCE_FAILED,
    CREDENTIAL_ISSUED,
    CREDENTIAL_REFUSED,
    HOOK_COMPLETED,
    HOOK_FAILED,
    OFFER_LOCKED,
    OFFER_REDEEMED,
    TOKEN_ISSUED,
    TOKEN_REFUSED,
    Event,
)
from openissuer.domain.ids import new_id
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.offers import AccessGrant
from openissuer.domain.webhooks import WebhookEventType, WebhookMessage
from openissuer.errors import IssuerError
from openissuer.formats.base import IssuedCredential
from openissuer.protocol.webhooks import format_timestamp
from openissuer.services.audit import audit_event

PRE_AUTHORIZED_GRANT = "pre-authorized_code"
AUTHORIZATION_CODE_GRANT = "authorization_code"


def redemption_events(
    tenant_id: str, now: datetime, *, client_id: str | None
) -> tuple[tuple[Event, ...], tuple[WebhookMessage, ...]]:
    """Return the event and message of a pre-authorized code's redemption; the store adds the offer's ids.

    One event records both the redemption and the access token it gives (one act in this grant; one row on the
    hot path); ``OPENID_TOKEN_CREATE_SUCCESS`` is the token of the Authorization Code grant.
    """
    events = (audit_event(OFFER_REDEEMED, tenant_id, now, {"grantType": PRE_AUTHORIZED_GRANT}, client_id=client_id),)
    payload = {"redeemedAt": format_timestamp(now)}
    return events, (WebhookMessage(new_id(), tenant_id, WebhookEventType.OFFER_REDEEMED.value, now, payload),)


def token_refused(
    tenant_id: str,
    now: datetime,
    error: IssuerError | type[IssuerError],
    reason: str,
    *,
    offer_id: str | None = None,
    grant_type: str = PRE_AUTHORIZED_GRANT,
    client_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Event:
    """Return the event of a refused token request for a known offer or authorization code."""
    data = {"grantType": grant_type, "offerId": offer_id, "error": error.code, "reason": reason, **(extra or {})}
    return audit_event(TOKEN_REFUSED, tenant_id, now, data, client_id=client_id)


def offer_locked(tenant_id: str, now: datetime, offer_id: str, attempts: int) -> Event:
    """Return the event of an offer locked by its last allowed wrong transaction code."""
    return audit_event(OFFER_LOCKED, tenant_id, now, {"offerId": offer_id, "attempts": attempts})


def token_issued(tenant_id: str, now: datetime, code: AuthorizationCode, *, client_id: str | None) -> Event:
    """Return the event of an access token issued for an authorization code."""
    data = {
        "grantType": AUTHORIZATION_CODE_GRANT,
        "userId": code.user_id,
        "credentialConfigurationIds": list(code.configuration_ids),
    }
    return audit_event(TOKEN_ISSUED, tenant_id, now, data, client_id=client_id)


def credential_issued(
    grant: AccessGrant, configuration_id: str, profile: str, records: Sequence[IssuedCredentialRecord], now: datetime
) -> Event:
    """Return the event of the credentials one request issued."""
    first = records[0]
    data = {
        "offerId": grant.offer_id,
        "userId": grant.user_id,
        "credentialConfigurationId": configuration_id,
        "format": first.format,
        "profile": profile,
        "credentialType": first.credential_type,
        "credentialIds": [r.id for r in records],
        "signerId": first.signer_id,
    }
    return audit_event(CREDENTIAL_ISSUED, grant.tenant_id, now, data)


def credential_messages(
    grant: AccessGrant,
    configuration_id: str,
    profile: str,
    issued: Sequence[IssuedCredential],
    records: Sequence[IssuedCredentialRecord],
    subscribed: frozenset[str],
    now: datetime,
) -> tuple[WebhookMessage, ...]:
    """Return one ``OpenIdCredentialIssued`` (with the credential) and/or ``…Summary`` (without) per credential,
    only of the types some active webhook of the tenant subscribes to (reference §11.2 payload)."""
    full = WebhookEventType.CREDENTIAL_ISSUED.value
    summary = WebhookEventType.CREDENTIAL_ISSUED_SUMMARY.value
    messages: list[WebhookMessage] = []
    for credential, record in zip(issued, records, strict=True):
        payload = {
            "credentialConfigurationId": configuration_id,
            "credentialId": record.id,
            "credentialProfile": profile,
            "format": credential.format_id,
            "userId": grant.user_id,
        }
        if full in subscribed:
            messages.append(
                WebhookMessage(new_id(), grant.tenant_id, full, now, {**payload, "credential": credential.credential})
            )
        if summary in subscribed:
            messages.append(WebhookMessage(new_id(), grant.tenant_id, summary, now, payload))
    return tuple(messages)


def claims_source_called(
    grant: AccessGrant, configuration_id: str, claim_source_id: str, failure: str | None, now: datetime
) -> Event:
    """Return the event of a claims source's call at issuance: its ids and, when it failed, why (never a claim,
    a parameter value or a secret)."""
    data: dict[str, Any] = {
        "claimSourceId": claim_source_id,
        "credentialConfigurationId": configuration_id,
        "offerId": grant.offer_id,
        "userId": grant.user_id,
    }
    if failure is not None:
        data["reason"] = failure
    return audit_event(CLAIM_SOURCE_FAILED if failure else CLAIM_SOURCE_CALLED, grant.tenant_id, now, data)


def hook_completed(
    tenant_id: str,
    now: datetime,
    session_id: str,
    *,
    client_id: str | None,
    user_id: str | None = None,
    claim_names: Sequence[str] = (),
    failure: str | None = None,
) -> Event:
    """Return the event of an interaction hook's return: the sign-in it continued, the user and the names of the
    claims it gave (never their values) or, when it failed or ended the sign-in, why."""
    data: dict[str, Any] = {"sessionId": session_id, "userId": user_id, "claimNames": sorted(claim_names)}
    if failure is not None:
        data = {"sessionId": session_id, "reason": failure}
    return audit_event(HOOK_FAILED if failure else HOOK_COMPLETED, tenant_id, now, data, client_id=client_id)


def credential_refused(grant: AccessGrant, error: IssuerError, now: datetime) -> Event:
    """Return the event of a refused credential request with a live access token."""
    data = {"offerId": grant.offer_id, "userId": grant.user_id, "error": error.code}
    return audit_event(CREDENTIAL_REFUSED, grant.tenant_id, now, data)
