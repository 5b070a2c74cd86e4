"""The tenant's settings (the IACA country, the wallet's Credential Offer Endpoint) and its wallet security policy
(the HAIP switch, DPoP, wallet and key attestation trust anchors, response encryption): view and edit.

Both forms are read with the API's body models (``web/routers/tenant_settings.py``, ``wallet_security.py``) and
saved through the same services, whose roles apply: the settings are changed by admins and issuers, the policy is
read by admins and auditors and changed by admins only.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.crypto.certificate_info import encode_pem
from openissuer.domain.tenant_settings import TenantSettings
from openissuer.domain.wallet_security import WalletSecurityPolicy
from openissuer.errors import ManagementError
from openissuer.services.access import ADMIN_ONLY, ISSUERS
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Portal,
    SubmittedPortal,
    error_page,
    parse_body,
    pem_blocks,
    portal_router,
    redirect,
    render,
)
from openissuer.web.routers.tenant_settings import TenantSettingsBody, tenant_settings_input
from openissuer.web.routers.wallet_security import WalletSecurityBody, policy_input

router = portal_router()
POLICY_FIELDS = {
    "clientAttestation.rootCertificates": "clientAttestationRoots",
    "clientAttestation.required": "clientAttestationRequired",
    "keyAttestation.rootCertificates": "keyAttestationRoots",
    "credentialResponseEncryption.required": "encryptionRequired",
}
POLICY_LISTS = {"clientAttestation": "clientAttestationRoots", "keyAttestation": "keyAttestationRoots"}


def _settings_values(settings: TenantSettings) -> dict[str, Any]:
    return {
        "defaultCountry": settings.default_country or "",
        "credentialOfferEndpoint": settings.credential_offer_endpoint or "",
    }


def _settings_page(
    portal: Portal,
    request: Request,
    settings: TenantSettings,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": "Tenant settings",
        "settings": settings,
        "values": _settings_values(settings) if values is None else values,
        "errors": errors or FormErrors(),
        "can_write": portal.can(ISSUERS),
    }
    return render(portal, request, "settings.html", context, status=status, section="settings")


@router.get("/settings")
async def tenant_settings(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        settings = await portal.container.tenant_settings.get_as(portal.principal)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return _settings_page(portal, request, settings)


@router.post("/settings")
async def replace_tenant_settings(request: Request, portal: SubmittedPortal) -> Response:
    service = portal.container.tenant_settings
    try:
        body = parse_body(
            TenantSettingsBody,
            {
                "defaultCountry": portal.optional("defaultCountry"),
                "credentialOfferEndpoint": portal.optional("credentialOfferEndpoint"),
            },
        )
        await service.replace_as(portal.principal, tenant_settings_input(body))
    except ManagementError as failure:
        try:
            settings = await service.get_as(portal.principal)
        except ManagementError:
            return error_page(portal, request, failure)
        errors = FormErrors.of(failure)
        return _settings_page(portal, request, settings, values=portal.echo(), errors=errors, status=failure.status)
    return redirect("/settings", "saved")


def _policy_values(policy: WalletSecurityPolicy) -> dict[str, Any]:
    values: dict[str, Any] = {
        "clientAttestationRoots": "".join(encode_pem(der) for der in policy.client_attestation_roots),
        "keyAttestationRoots": "".join(encode_pem(der) for der in policy.key_attestation_roots),
    }
    flags = {
        "haip": policy.haip,
        "dpopRequired": policy.dpop_required,
        "clientAttestationRequired": policy.client_attestation_required,
        "encryptionRequired": policy.credential_response_encryption_required,
    }
    return values | {name: "on" for name, on in flags.items() if on}


def _policy_page(
    portal: Portal,
    request: Request,
    policy: WalletSecurityPolicy,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "title": "Wallet security policy",
        "policy": policy,
        "values": _policy_values(policy) if values is None else values,
        "errors": errors or FormErrors(),
        "can_write": portal.can(ADMIN_ONLY),
    }
    return render(portal, request, "wallet_security.html", context, status=status, section="settings")


@router.get("/wallet-security")
async def wallet_security(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        policy = await portal.container.wallet_policies.get_as(portal.principal)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return _policy_page(portal, request, policy)


@router.post("/wallet-security")
async def replace_wallet_security(request: Request, portal: SubmittedPortal) -> Response:
    service = portal.container.wallet_policies
    try:
        body = parse_body(
            WalletSecurityBody,
            {
                "haip": portal.checked("haip"),
                "dpopRequired": portal.checked("dpopRequired"),
                "clientAttestation": {
                    "required": portal.checked("clientAttestationRequired"),
                    "rootCertificates": pem_blocks(portal.field("clientAttestationRoots")),
                },
                "keyAttestation": {"rootCertificates": pem_blocks(portal.field("keyAttestationRoots"))},
                "credentialResponseEncryption": {"required": portal.checked("encryptionRequired")},
            },
        )
        await service.replace_as(portal.principal, policy_input(body))
    except ManagementError as failure:
        try:
            policy = await service.get_as(portal.principal)
        except ManagementError:
            return error_page(portal, request, failure)
        errors = FormErrors.of(failure, aliases=POLICY_FIELDS, nested=POLICY_LISTS)
        return _policy_page(portal, request, policy, values=portal.echo(), errors=errors, status=failure.status)
    return redirect("/wallet-security", "saved")
