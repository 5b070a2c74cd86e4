"""Verify JWTs signed by a party that publishes its keys as a JWK Set (an OpenID provider's ID tokens)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from openissuer.crypto.jws import JwsError, parse_compact_jws

# Asymmetric algorithms an identity provider may sign ID tokens with (never "none", never HMAC).
ID_TOKEN_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class UnknownKeyError(JwsError):
    """The token names a key (``kid``) the key set does not hold: refresh the set, then give up."""


def verify_jwt_with_jwks(
    token: str, jwks: Mapping[str, Any], *, algorithms: tuple[str, ...] = ID_TOKEN_ALGS
) -> dict[str, Any]:
    """Return the claims of ``token`` when its signature verifies with a key of ``jwks``.

    Raises UnknownKeyError when the header's ``kid`` is not in the set, JwsError for any other failure. Claims are
    not checked here; the caller checks ``iss``, ``aud``, ``exp``, ``nonce``.
    """
    jws = parse_compact_jws(token)
    alg = jws.header.get("alg")
    if alg not in algorithms:
        raise JwsError("the token's alg is not an allowed asymmetric algorithm")
    try:
        key_set = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise JwsError("the key set cannot be read") from exc
    kid = jws.header.get("kid")
    if kid is not None and not any(key.kid == kid for key in key_set.keys):
        raise UnknownKeyError("the token's kid is not in the key set")
    try:
        decoded = jwt.decode(token, key_set, algorithms=[str(alg)])
    except (JoseError, ValueError, TypeError) as exc:
        raise JwsError("the token's signature does not verify") from exc
    return dict(decoded.claims)
