"""Token requests and responses of the Pre-authorized Code grant (OID4VCI 1.0 §6, RFC 6749 §5, RFC 9396)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openissuer.domain.json_input import JsonInputError, parse_json_input
from openissuer.errors import InvalidAuthorizationDetailsError, InvalidRequestError, UnsupportedGrantTypeError
from openissuer.protocol.metadata import PRE_AUTHORIZED_GRANT

OPENID_CREDENTIAL = "openid_credential"
AUTHORIZATION_CODE_GRANT = "authorization_code"


@dataclass(frozen=True)
class PreAuthorizedCodeRequest:
    """A parsed token request for the pre-authorized_code grant.

    ``authorization_details`` lists the requested configuration ids in order, or is None when absent.
    ``client_id`` is the client the wallet names (optional: anonymous access when absent and unattested).
    """

    pre_authorized_code: str
    tx_code: str | None
    authorization_details: tuple[str, ...] | None
    client_id: str | None = None


@dataclass(frozen=True)
class AuthorizationCodeRequest:
    """A parsed token request for the authorization_code grant of a public client (RFC 6749 §4.1.3, RFC 7636)."""

    code: str
    redirect_uri: str
    client_id: str
    code_verifier: str | None


TokenRequest = PreAuthorizedCodeRequest | AuthorizationCodeRequest


def parse_token_request(form: Mapping[str, str], *, authorization_code_enabled: bool = False) -> TokenRequest:
    """Parse the form parameters; unknown parameters are ignored (RFC 6749 §3.2)."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequestError("grant_type is required")
    if grant_type == AUTHORIZATION_CODE_GRANT and authorization_code_enabled:
        return _parse_authorization_code(form)
    if grant_type != PRE_AUTHORIZED_GRANT:
        supported = [PRE_AUTHORIZED_GRANT] + ([AUTHORIZATION_CODE_GRANT] if authorization_code_enabled else [])
        raise UnsupportedGrantTypeError(f"Supported grant types: {', '.join(supported)}")
    return _parse_pre_authorized(form)


MAX_CLIENT_ID_LENGTH = 255  # what the grants, codes and clients keep (longer ones cannot be one of ours)


def verify_client_id_length(client_id: str) -> str:
    """Return ``client_id`` if it is not longer than ``MAX_CLIENT_ID_LENGTH``; ``invalid_request`` otherwise."""
    if len(client_id) > MAX_CLIENT_ID_LENGTH:
        raise InvalidRequestError(f"client_id is longer than {MAX_CLIENT_ID_LENGTH} characters")
    return client_id


def _parse_authorization_code(form: Mapping[str, str]) -> AuthorizationCodeRequest:
    for name in ("code", "redirect_uri", "client_id"):
        if not form.get(name):
            raise InvalidRequestError(f"{name} is required")
    return AuthorizationCodeRequest(
        code=form["code"],
        redirect_uri=form["redirect_uri"],
        client_id=verify_client_id_length(form["client_id"]),
        code_verifier=form.get("code_verifier") or None,
    )


def _parse_pre_authorized(form: Mapping[str, str]) -> PreAuthorizedCodeRequest:
    code = form.get("pre-authorized_code")
    if not code:
        raise InvalidRequestError("pre-authorized_code is required")
    tx_code = form.get("tx_code")
    details = form.get("authorization_details")
    return PreAuthorizedCodeRequest(
        pre_authorized_code=code,
        tx_code=tx_code if tx_code else None,
        authorization_details=None if details is None else parse_authorization_details(details),
        client_id=verify_client_id_length(client_id) if (client_id := form.get("client_id")) else None,
    )


def parse_authorization_details(raw: str) -> tuple[str, ...]:
    """Parse RFC 9396 ``authorization_details`` of type ``openid_credential`` into configuration ids (§5.1.1)."""
    try:
        details = parse_json_input(raw)
    except JsonInputError as exc:
        raise InvalidAuthorizationDetailsError("authorization_details must be a JSON array") from exc
    if not isinstance(details, list) or not details:
        raise InvalidAuthorizationDetailsError("authorization_details must be a non-empty JSON array")
    ids: list[str] = []
    for entry in details:
        if not isinstance(entry, dict) or entry.get("type") != OPENID_CREDENTIAL:
            raise InvalidAuthorizationDetailsError(
                f"Each authorization_details entry must have type {OPENID_CREDENTIAL}"
            )
        configuration_id = entry.get("credential_configuration_id")
        if not isinstance(configuration_id, str) or not configuration_id:
            raise InvalidAuthorizationDetailsError("Each entry needs a credential_configuration_id")
        ids.append(configuration_id)
    return tuple(dict.fromkeys(ids))


def create_token_response(
    access_token: str,
    expires_in: int,
    credential_identifiers: Mapping[str, str] | None,
    *,
    scope: str | None = None,
    token_type: str = "Bearer",  # noqa: S107 - a token type, not a secret
) -> dict[str, Any]:
    """Return the token response; with ``authorization_details`` (identifiers per configuration) when requested,
    and ``scope`` when the authorization was asked for by scope (RFC 6749 §5.1; the reference always sends it).

    ``token_type`` is ``DPoP`` for a token bound to a DPoP key (RFC 9449 §5)."""
    response: dict[str, Any] = {"access_token": access_token, "token_type": token_type, "expires_in": expires_in}
    if scope:
        response["scope"] = scope
    if credential_identifiers is not None:
        by_configuration: dict[str, list[str]] = {}
        for identifier, configuration_id in credential_identifiers.items():
            by_configuration.setdefault(configuration_id, []).append(identifier)
        response["authorization_details"] = [
            {"type": OPENID_CREDENTIAL, "credential_configuration_id": cid, "credential_identifiers": identifiers}
            for cid, identifiers in by_configuration.items()
        ]
    return response
