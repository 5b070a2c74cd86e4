"""OID4VCI 1.0 ``jwt`` proofs (protocol/proof.py), built with joserfc as an independent JOSE implementation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc import jws
from joserfc.jwk import ECKey, OctKey
from joserfc.registry import HeaderParameter

from openissuer.crypto import p256_public_key
from openissuer.crypto.base64url import decode_base64url
from openissuer.crypto.p256_public_key import P256PublicKey
from openissuer.errors import InvalidProofError
from openissuer.protocol.proof import PROOF_TYP, VerifiedProof, verify_jwt_proof

AUDIENCE = "https://issuer.example.com"
CLIENT_ID = "wallet-client"
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
IAT = int(NOW.timestamp())
NONCE = "c-nonce-123"

HOLDER = ECKey.generate_key("P-256")
OTHER = ECKey.generate_key("P-256")
PUBLIC_MEMBERS = ("kty", "crv", "x", "y")


def public_jwk(key: ECKey) -> dict[str, Any]:
    return {name: key.as_dict(private=False)[name] for name in PUBLIC_MEMBERS}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def accept_any(value: object) -> None:
    """Let joserfc sign headers it would refuse, so the verifier (not the signer) is what is tested."""


# Lenient about header values and unknown members; understands the "ext" extension so a crit header can be signed.
LENIENT_HEADERS = {
    "jwk": HeaderParameter("any value", accept_any),
    "x5c": HeaderParameter("any value", accept_any),
    "ext": HeaderParameter("an extension", "int"),
}


def make_proof(
    key: Any = HOLDER,
    *,
    header: dict[str, Any] | None = None,
    drop_header: tuple[str, ...] = (),
    claims: dict[str, Any] | None = None,
    drop_claims: tuple[str, ...] = (),
) -> str:
    """Sign a proof with joserfc; defaults are a valid ES256 proof with the holder's jwk, aud, iat and nonce."""
    protected: dict[str, Any] = {"alg": "ES256", "typ": PROOF_TYP, "jwk": public_jwk(HOLDER), **(header or {})}
    payload: dict[str, Any] = {"aud": AUDIENCE, "iat": IAT, "nonce": NONCE, **(claims or {})}
    for name in drop_header:
        protected.pop(name)
    for name in drop_claims:
        payload.pop(name)
    registry = jws.JWSRegistry(LENIENT_HEADERS, algorithms=[protected["alg"]], strict_check_header=False)
    return jws.serialize_compact(protected, json.dumps(payload).encode(), key, registry=registry)


def rejected(proof: Any, **kwargs: Any) -> InvalidProofError:
    """Return the InvalidProofError ``verify_jwt_proof`` raises, checking it never echoes the proof."""
    kwargs.setdefault("audience", AUDIENCE)
    kwargs.setdefault("now", NOW)
    with pytest.raises(InvalidProofError) as info:
        verify_jwt_proof(proof, **kwargs)
    error = info.value
    assert error.code == "invalid_proof"
    assert error.status == 400
    if isinstance(proof, str):
        assert proof not in error.description
        for segment in proof.split("."):
            assert len(segment) < 8 or segment not in error.description
    return error


def self_signed_certificate(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "holder")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .sign(private_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def x5c_key_and_header(curve: ec.EllipticCurve | None = None) -> tuple[ECKey, list[str]]:
    private_key = ec.generate_private_key(curve or ec.SECP256R1())
    der = self_signed_certificate(private_key)
    return ECKey.import_key(private_key), [base64.b64encode(der).decode("ascii")]


# --- happy paths ------------------------------------------------------------------------------------------------


def test_a_valid_proof_returns_the_public_jwk_nonce_and_issue_time() -> None:
    proof = make_proof(header={"kid_hint": "ignored"}, claims={"jti": "ignored", "extra": {"x": 1}})
    verified = verify_jwt_proof(proof, audience=AUDIENCE, now=NOW)
    assert verified == VerifiedProof(key=P256PublicKey.from_jwk(public_jwk(HOLDER)), nonce=NONCE, issued_at=NOW)
    assert set(verified.jwk) == set(PUBLIC_MEMBERS)


def test_the_header_key_is_decoded_once_for_the_signature_and_every_later_use(monkeypatch: pytest.MonkeyPatch) -> None:
    decodings: list[bytes] = []
    decode = p256_public_key.public_key_from_coordinates

    def counted(x: bytes, y: bytes) -> Any:
        decodings.append(x)
        return decode(x, y)

    monkeypatch.setattr(p256_public_key, "public_key_from_coordinates", counted)
    verified = verify_jwt_proof(make_proof(), audience=AUDIENCE, now=NOW)
    assert (verified.key.thumbprint, verified.key.cose_key[-2], verified.jwk) == (
        HOLDER.thumbprint(),
        decode_base64url(public_jwk(HOLDER)["x"]),
        public_jwk(HOLDER),
    )
    assert len(decodings) == 1


def test_the_returned_jwk_drops_other_public_members() -> None:
    jwk = {**public_jwk(HOLDER), "use": "sig", "alg": "ES256", "kid": "k1"}
    verified = verify_jwt_proof(make_proof(header={"jwk": jwk}), audience=AUDIENCE, now=NOW)
    assert verified.jwk == public_jwk(HOLDER)


def test_a_proof_without_nonce_returns_none_for_the_caller_to_judge() -> None:
    verified = verify_jwt_proof(make_proof(drop_claims=("nonce",)), audience=AUDIENCE, now=NOW)
    assert verified.nonce is None


def test_an_x5c_proof_is_verified_with_the_leaf_certificate_key() -> None:
    key, x5c = x5c_key_and_header()
    proof = make_proof(key, header={"x5c": x5c}, drop_header=("jwk",))
    verified = verify_jwt_proof(proof, audience=AUDIENCE, now=NOW)
    assert verified.jwk == public_jwk(key)


@pytest.mark.parametrize("aud", [[AUDIENCE], ["https://other.example", AUDIENCE], AUDIENCE + "/", 1, None])
def test_aud_must_be_exactly_the_issuer_identifier_string(aud: object) -> None:
    """F.1: aud is a string; an array is refused even when it holds the identifier (a multi-audience proof)."""
    proof = make_proof(claims={"aud": aud})
    with pytest.raises(InvalidProofError, match="aud"):
        verify_jwt_proof(proof, audience=AUDIENCE, now=NOW)


def test_iss_is_refused_for_an_anonymous_token_and_when_it_is_not_the_client_id() -> None:
    from openissuer.protocol.proof import ANONYMOUS

    with pytest.raises(InvalidProofError, match="must not contain iss"):
        verify_jwt_proof(make_proof(claims={"iss": CLIENT_ID}), audience=AUDIENCE, now=NOW, client_id=ANONYMOUS)
    with pytest.raises(InvalidProofError, match="client_id"):
        verify_jwt_proof(make_proof(claims={"iss": "other"}), audience=AUDIENCE, now=NOW, client_id=CLIENT_ID)
    verify_jwt_proof(make_proof(), audience=AUDIENCE, now=NOW, client_id=ANONYMOUS)


def test_iat_at_the_edges_of_the_window_and_a_future_exp_are_accepted() -> None:
    for iat in (IAT + 60, IAT - 300, IAT + 0.5):
        proof = make_proof(claims={"iat": iat, "exp": IAT + 120})
        verified = verify_jwt_proof(proof, audience=AUDIENCE, now=NOW)
        assert verified.issued_at == datetime.fromtimestamp(iat, tz=UTC)


def test_iss_is_accepted_when_it_is_the_client_id_or_when_no_client_id_is_given() -> None:
    proof = make_proof(claims={"iss": CLIENT_ID})
    verify_jwt_proof(proof, audience=AUDIENCE, now=NOW, client_id=CLIENT_ID)
    verify_jwt_proof(proof, audience=AUDIENCE, now=NOW)
    verify_jwt_proof(make_proof(), audience=AUDIENCE, now=NOW, client_id=CLIENT_ID)  # anonymous: iss omitted


# --- shape ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("proof", [None, 42, {"jwt": "a.b.c"}, b"a.b.c"])
def test_a_proof_that_is_not_a_string_is_rejected(proof: object) -> None:
    assert "string" in rejected(proof).description


def test_two_parts_are_rejected() -> None:
    header, payload, _ = make_proof().split(".")
    assert "three" in rejected(f"{header}.{payload}").description


def test_four_parts_are_rejected() -> None:
    assert "three" in rejected(make_proof() + ".AAAA").description


def test_padding_is_rejected() -> None:
    proof = make_proof()
    assert len(proof.split(".")[2]) % 4 == 2  # 64-byte signature: 86 characters, padded with "=="
    assert "base64url" in rejected(proof + "==").description


def test_characters_outside_the_base64url_alphabet_are_rejected() -> None:
    header, payload, signature = make_proof().split(".")
    standard = signature.replace("-", "+").replace("_", "/")
    if standard == signature:
        standard = "+" + signature[1:]
    assert "base64url" in rejected(f"{header}.{payload}.{standard}").description


def test_a_non_canonical_base64url_signature_is_rejected() -> None:
    header, payload, signature = make_proof().split(".")
    # 86 characters carry 516 bits for 512: the last character's low 4 bits must be zero in canonical form.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(signature[-1]) | 1]
    assert "canonical" in rejected(f"{header}.{payload}.{signature[:-1]}{last}").description


def test_a_non_json_header_is_rejected() -> None:
    _, payload, signature = make_proof().split(".")
    assert "header" in rejected(f"{b64url(b'not json')}.{payload}.{signature}").description


def test_a_header_that_is_not_an_object_is_rejected() -> None:
    _, payload, signature = make_proof().split(".")
    error = rejected(f"{b64url(b'[1, 2]')}.{payload}.{signature}")
    assert "header must be a JSON object" in error.description


def test_a_payload_that_is_not_an_object_is_rejected() -> None:
    header, _, signature = make_proof().split(".")
    payload = b64url(json.dumps("x").encode())
    assert "payload must be a JSON object" in rejected(f"{header}.{payload}.{signature}").description


def test_duplicate_header_members_are_rejected() -> None:
    proof = make_proof()
    header, payload, signature = proof.split(".")
    text = base64.urlsafe_b64decode(header + "==").decode()
    duplicated = text[:-1] + ', "typ": "JWT"}'
    assert "duplicate" in rejected(f"{b64url(duplicated.encode())}.{payload}.{signature}").description


# --- header: typ, alg, crit -------------------------------------------------------------------------------------


def test_a_wrong_typ_is_rejected() -> None:
    assert "typ" in rejected(make_proof(header={"typ": "JWT"})).description


def test_a_missing_typ_is_rejected() -> None:
    assert "typ" in rejected(make_proof(drop_header=("typ",))).description


def test_a_missing_alg_is_rejected() -> None:
    header = {"typ": PROOF_TYP, "jwk": public_jwk(HOLDER)}
    proof = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps({'aud': AUDIENCE, 'iat': IAT}).encode())}."
    assert "must contain alg" in rejected(proof).description


def test_alg_none_is_rejected() -> None:
    header = {"alg": "none", "typ": PROOF_TYP, "jwk": public_jwk(HOLDER)}
    proof = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps({'aud': AUDIENCE, 'iat': IAT}).encode())}."
    assert "none" in rejected(proof).description


def test_alg_hs256_signed_with_an_oct_key_is_rejected() -> None:
    proof = make_proof(OctKey.generate_key(256), header={"alg": "HS256"}, drop_header=("jwk",))
    assert "symmetric" in rejected(proof).description


def test_an_unregistered_alg_is_rejected() -> None:
    header = {"alg": "XY999", "typ": PROOF_TYP, "jwk": public_jwk(HOLDER)}
    proof = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps({'aud': AUDIENCE, 'iat': IAT}).encode())}.AA"
    assert "asymmetric" in rejected(proof).description


def test_an_alg_that_is_not_allowed_is_rejected() -> None:
    p384 = ECKey.generate_key("P-384")
    proof = make_proof(p384, header={"alg": "ES384", "jwk": p384.as_dict(private=False)})
    assert "not supported; supported: ES256" in rejected(proof).description


def test_allowed_algs_beyond_what_can_be_verified_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="allowed_algs"):
        verify_jwt_proof(make_proof(), audience=AUDIENCE, now=NOW, allowed_algs=frozenset({"ES384"}))


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_jwt_proof(make_proof(), audience=AUDIENCE, now=NOW.replace(tzinfo=None))


def test_a_crit_header_is_rejected() -> None:
    proof = make_proof(header={"crit": ["ext"], "ext": 1})
    assert "crit" in rejected(proof).description


# --- header: the key ----------------------------------------------------------------------------------------------


def test_both_jwk_and_kid_are_rejected() -> None:
    proof = make_proof(header={"kid": "did:example:123#key-1"})
    assert "exactly one of jwk, kid and x5c" in rejected(proof).description


def test_both_jwk_and_x5c_are_rejected() -> None:
    key, x5c = x5c_key_and_header()
    proof = make_proof(key, header={"jwk": public_jwk(key), "x5c": x5c})
    assert "exactly one of jwk, kid and x5c" in rejected(proof).description


def test_no_key_at_all_is_rejected() -> None:
    assert "jwk or x5c" in rejected(make_proof(drop_header=("jwk",))).description


def test_kid_only_is_rejected_as_unsupported() -> None:
    proof = make_proof(header={"kid": "did:example:123#key-1"}, drop_header=("jwk",))
    assert "kid (DID URL) key references are not supported" in rejected(proof).description


def test_a_jwk_with_the_private_d_is_rejected() -> None:
    proof = make_proof(header={"jwk": HOLDER.as_dict(private=True)})
    assert "must not contain private key material" in rejected(proof).description


@pytest.mark.parametrize("member", ["p", "q", "dp", "dq", "qi", "k"])
def test_a_jwk_with_any_private_member_is_rejected(member: str) -> None:
    proof = make_proof(header={"jwk": {**public_jwk(HOLDER), member: "AAAA"}})
    assert "must not contain private key material" in rejected(proof).description


def test_a_jwk_on_another_curve_is_rejected() -> None:
    proof = make_proof(header={"jwk": ECKey.generate_key("P-384").as_dict(private=False)})
    assert "public EC P-256 key" in rejected(proof).description


def test_a_jwk_that_is_not_an_object_is_rejected() -> None:
    assert "JSON object" in rejected(make_proof(header={"jwk": "key"})).description


def test_an_x5c_leaf_on_another_curve_is_rejected() -> None:
    _, x5c = x5c_key_and_header(ec.SECP384R1())
    proof = make_proof(header={"x5c": x5c}, drop_header=("jwk",))
    assert "P-256" in rejected(proof).description


@pytest.mark.parametrize("x5c", [[], "MIIB", ["not base64!"], [base64.b64encode(b"not a certificate").decode()]])
def test_an_unusable_x5c_is_rejected(x5c: object) -> None:
    proof = make_proof(header={"x5c": x5c}, drop_header=("jwk",))
    assert "x5c" in rejected(proof).description


# --- signature ----------------------------------------------------------------------------------------------------


def test_a_tampered_payload_is_rejected() -> None:
    header, _, signature = make_proof().split(".")
    _, other_payload, _ = make_proof(claims={"nonce": "another"}).split(".")
    assert "signature does not verify" in rejected(f"{header}.{other_payload}.{signature}").description


def test_a_signature_by_another_key_than_the_header_jwk_is_rejected() -> None:
    assert "signature does not verify" in rejected(make_proof(OTHER)).description


def test_a_signature_of_the_wrong_length_is_rejected() -> None:
    header, payload, _ = make_proof().split(".")
    assert "signature does not verify" in rejected(f"{header}.{payload}.{b64url(bytes(32))}").description


# --- payload ------------------------------------------------------------------------------------------------------


def test_a_missing_aud_is_rejected() -> None:
    assert "must contain aud" in rejected(make_proof(drop_claims=("aud",))).description


def test_a_wrong_aud_is_rejected() -> None:
    assert "aud must be" in rejected(make_proof(claims={"aud": "https://evil.example"})).description


def test_an_aud_array_without_the_issuer_is_rejected() -> None:
    proof = make_proof(claims={"aud": ["https://a.example", "https://b.example"]})
    assert "aud must be" in rejected(proof).description


def test_a_missing_iat_is_rejected() -> None:
    assert "must contain iat" in rejected(make_proof(drop_claims=("iat",))).description


@pytest.mark.parametrize("iat", [str(IAT), True, None, [IAT]])
def test_an_iat_that_is_not_a_number_is_rejected(iat: object) -> None:
    assert "iat must be a number" in rejected(make_proof(claims={"iat": iat})).description


def test_an_iat_too_far_in_the_future_is_rejected() -> None:
    assert "in the future" in rejected(make_proof(claims={"iat": IAT + 61})).description


def test_a_huge_iat_is_rejected_without_overflow() -> None:
    assert "number is infinity" in rejected(make_proof(claims={"iat": 10**400})).description  # refused when parsed
    assert "in the future" in rejected(make_proof(claims={"iat": 2**62})).description


def test_an_iat_too_old_is_rejected() -> None:
    assert "too old" in rejected(make_proof(claims={"iat": IAT - 301})).description


def test_the_time_window_follows_the_arguments() -> None:
    proof = make_proof(claims={"iat": IAT - 600})
    rejected(proof)
    verify_jwt_proof(proof, audience=AUDIENCE, now=NOW, max_age=timedelta(minutes=10))
    future = make_proof(claims={"iat": IAT + 5})
    assert "in the future" in rejected(future, future_skew=timedelta(seconds=1)).description


@pytest.mark.parametrize("exp", [IAT, IAT - 1])
def test_an_exp_not_after_now_is_rejected(exp: int) -> None:
    assert "expired" in rejected(make_proof(claims={"exp": exp})).description


def test_an_exp_that_is_not_a_number_is_rejected() -> None:
    assert "exp must be a number" in rejected(make_proof(claims={"exp": "tomorrow"})).description


@pytest.mark.parametrize("nonce", [123, None, ["n"], {"n": 1}])
def test_a_nonce_that_is_not_a_string_is_rejected(nonce: object) -> None:
    assert "nonce must be a string" in rejected(make_proof(claims={"nonce": nonce})).description


def test_an_iss_other_than_the_client_id_is_rejected() -> None:
    proof = make_proof(claims={"iss": "another-client"})
    assert "iss must be the client_id" in rejected(proof, client_id=CLIENT_ID).description


def test_descriptions_use_only_the_allowed_error_description_characters() -> None:
    # OID4VCI / RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash).
    proofs = [
        make_proof(header={"typ": "JWT"}),
        make_proof(header={"jwk": HOLDER.as_dict(private=True)}),
        make_proof(header={"jwk": {"kty": "EC"}}),
        make_proof(drop_header=("jwk",)),
        "a.b",
    ]
    for proof in proofs:
        description = rejected(proof).description
        assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description), description
