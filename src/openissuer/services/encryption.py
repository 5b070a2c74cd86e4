"""Encrypted credential requests and responses (OID4VCI 1.0 §8.2, §8.3, §10): ECDH-ES on P-256 with A128GCM or
A256GCM.

The request key of a tenant is derived from the master key (HMAC under a purpose naming the tenant, reduced to a
P-256 scalar): every process has it without storage, and its ``kid`` is its JWK thumbprint. It changes only with
the master key. Responses are encrypted to the key the wallet sends in ``credential_response_encryption``; the
request must then itself be encrypted, so the key cannot have been swapped on the way (§8.3: "Credential Request
encryption MUST be used if the credential_response_encryption parameter is included"). Errors are never encrypted.
"""

from __future__ import annotations

from typing import Any

from openissuer.crypto.jwe import ECDH_ES, KEY_BITS, JweDecrypter, JweError, derive_jwe_decrypter, encrypt_jwe
from openissuer.domain.wallet_security import WalletSecurityPolicy
from openissuer.errors import InvalidCredentialRequestError, InvalidEncryptionParametersError
from openissuer.ports.secrets import SecretBox
from openissuer.protocol.credential_request import CredentialRequest, ResponseEncryption

REQUEST_KEY_PURPOSE = "credential-request-encryption"
ENCS = tuple(KEY_BITS)
JWT_MEDIA_TYPE = "application/jwt"


class CredentialEncryptionService:
    """Decrypt credential requests, encrypt credential responses, describe both in the issuer metadata."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._decrypters: dict[str, JweDecrypter] = {}

    def decrypter(self, tenant_id: str) -> JweDecrypter:
        """Return the tenant's request encryption key."""
        found = self._decrypters.get(tenant_id)
        if found is None:
            if len(self._decrypters) > 4096:
                self._decrypters.clear()
            seed = self._box.mac(f"{REQUEST_KEY_PURPOSE}/{tenant_id}", b"v1")
            found = self._decrypters[tenant_id] = derive_jwe_decrypter(seed)
        return found

    def issuer_metadata(self, tenant_id: str, policy: WalletSecurityPolicy) -> dict[str, Any]:
        """Return ``credential_request_encryption`` and ``credential_response_encryption`` (§12.2.4)."""
        required = policy.requires_encryption
        return {
            "credential_request_encryption": {
                "jwks": {"keys": [self.decrypter(tenant_id).public_jwk]},
                "enc_values_supported": list(ENCS),
                "encryption_required": required,
            },
            "credential_response_encryption": {
                "alg_values_supported": [ECDH_ES],
                "enc_values_supported": list(ENCS),
                "encryption_required": required,
            },
        }

    def decrypt_request(self, tenant_id: str, body: bytes) -> bytes:
        """Return the JSON of an encrypted credential request (``application/jwt``)."""
        try:
            _, plaintext = self.decrypter(tenant_id).decrypt(body.decode("ascii"), allowed_enc=ENCS)
        except (JweError, UnicodeDecodeError) as exc:
            raise InvalidCredentialRequestError(f"The encrypted credential request cannot be read: {exc}") from exc
        return plaintext

    def encrypt_response(self, body: bytes, params: ResponseEncryption) -> str:
        """Return the credential response as a JWE to the wallet's key (§10: ``kid`` when its key has one)."""
        return encrypt_jwe(body, params.jwk, enc=params.enc, kid=params.kid)


def verify_encryption_parameters(request: CredentialRequest, policy: WalletSecurityPolicy) -> None:
    """§8.3: response encryption needs an encrypted request; a tenant requiring encryption refuses plain ones."""
    if request.response_encryption is not None and not request.encrypted:
        raise InvalidEncryptionParametersError(
            "credential_response_encryption needs an encrypted request (application/jwt to credential_request_"
            "encryption.jwks), so the key cannot be swapped"
        )
    if policy.requires_encryption and request.response_encryption is None:
        raise InvalidEncryptionParametersError("This issuer requires credential_response_encryption")
