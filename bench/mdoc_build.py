"""mDoc building micro-benchmark: the CPU of one mso_mdoc credential, stage by stage, without a server.

    .venv/bin/python bench/mdoc_build.py                     # ~20 s
    .venv/bin/python bench/mdoc_build.py --iterations 5000 --json out.json

The document is the mDL the Node peer issues (``/work/shared/bench-peers/animo_issuer.mjs``): 16 elements of the
``org.iso.18013.5.1`` namespace plus a 10 KB portrait, in the wire form an issuer backend sends in an offer (dates
as full-date strings, the portrait as base64), mapped through a stored mDoc configuration whose ``claimMappings``
type every element. The document signer is a ``SoftwareSigner`` whose ``x5c`` holds a document-signer certificate
issued by an IACA, as in production.

Two measurements, both in this process:

- **end to end**: ``plan_issuance`` (claim mapping and coercion) and ``MsoMdocFormat.issue`` called exactly as
  ``services/issuance.py`` calls them;
- **per stage**: the body of ``MsoMdocFormat.issue`` replayed stage by stage (``issue_in_stages`` below mirrors
  it; before timing, the bench checks that the replay builds the same bytes as ``issue`` for the same randomness,
  apart from the ECDSA signature, which is randomised).

Beside them, the floor (one ES256 sign and one verify with ``cryptography``) and the holder side of the request:
proof parsing and verification (``verify_jwt_proof``) and turning the verified key into the ``HolderKey`` the
format receives. Every figure is the median of ``--iterations`` single runs timed with ``perf_counter_ns``
(one thread, no I/O, so wall time is CPU time except when the machine preempts us, which the median drops);
the end-to-end figure is also given as CPU (``process_time_ns`` over the whole batch ÷ iterations). Nothing
here is a test and nothing asserts a time.
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import platform
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from signature_floor import measure_floor

from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.crypto.base64url import decode_base64url, encode_base64url
from openissuer.crypto.cose import create_cose_sign1
from openissuer.crypto.x509 import build_document_signer_certificate, build_iaca_certificate
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.durations import Duration
from openissuer.formats.base import HolderKey, IssuedCredential, RandomBytes
from openissuer.formats.mso_mdoc import MsoMdocFormat
from openissuer.formats.mso_mdoc.credential_format import MSO_MDOC, describe_issued_mdoc
from openissuer.formats.mso_mdoc.issuer_signed import create_signed_elements, encode_issuer_signed
from openissuer.formats.mso_mdoc.mobile_security_object import encode_mobile_security_object
from openissuer.formats.mso_mdoc.validity import compute_validity_window
from openissuer.protocol.proof import parse_jwt_proof, verify_jwt_proof
from openissuer.services.configurations import PreparedConfiguration, prepare_configuration
from openissuer.services.issuance import IssuancePlan, plan_issuance

MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
AUDIENCE = "https://issuer.example.com"
PORTRAIT_SIZE = 10 * 1024

# The Node peer's element set (animo_issuer.mjs ``mdlClaims``), as JSON an issuer backend puts in an offer.
CLAIMS: dict[str, Any] = {
    "family_name": "Mustermann",
    "given_name": "Erika",
    "birth_date": "1971-09-01",
    "issue_date": "2024-01-15",
    "expiry_date": "2034-01-14",
    "issuing_country": "DE",
    "issuing_authority": "Stadt Musterstadt Fahrerlaubnisbehoerde",
    "document_number": "T22000129",
    "portrait": base64.b64encode(random.Random(0).randbytes(PORTRAIT_SIZE)).decode("ascii"),
    "driving_privileges": [
        {"vehicle_category_code": "B", "issue_date": "2010-05-01", "expiry_date": "2034-01-14"},
        {"vehicle_category_code": "AM", "issue_date": "2010-05-01"},
    ],
    "un_distinguishing_sign": "D",
    "sex": 2,
    "height": 168,
    "resident_address": "Heidestrasse 17, 51147 Koeln",
    "nationality": "DE",
    "age_over_18": True,
    "age_over_21": True,
}
TYPES = {
    "birth_date": "date",
    "issue_date": "date",
    "expiry_date": "date",
    "portrait": "bytes",
    "driving_privileges": "array",
    "sex": "number",
    "height": "number",
    "age_over_18": "boolean",
    "age_over_21": "boolean",
}
MAPPINGS = {name: {"mapFrom": f"claims.{name}", "type": TYPES.get(name, "string"), "required": True} for name in CLAIMS}


@dataclass
class Fixture:
    """Everything one issuance needs, built once: keys, certificates, configuration, a proof, the claims."""

    now: datetime
    signer: SoftwareSigner
    holder_public_jwk: dict[str, str]
    proof: str
    prepared: PreparedConfiguration
    mdoc: MsoMdocFormat


def build_fixture() -> Fixture:
    now = datetime.now(UTC).replace(microsecond=0)
    iaca_signer = SoftwareSigner.generate()
    iaca = build_iaca_certificate(
        iaca_signer,
        country="DE",
        common_name="Bench IACA",
        issuer_alternative_name_uri="https://issuer.example.com",
        crl_distribution_point_uri="https://issuer.example.com/crl",
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=3650),
    )
    document_signer = SoftwareSigner.generate()
    certificate = build_document_signer_certificate(
        iaca,
        iaca_signer,
        document_signer.public_jwk,
        common_name="Bench Document Signer",
        not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=450),
    )
    holder = ec.generate_private_key(ec.SECP256R1())
    holder_jwk = SoftwareSigner(holder).public_jwk
    mdoc = MsoMdocFormat()
    configuration = CredentialConfiguration(
        id="bench-mdl",
        tenant_id="bench",
        format=mdoc.format_id,
        credential_type=MDL,
        claim_mappings={NS: MAPPINGS},
        created_at=now,
        updated_at=now,
        expires_in=Duration(days=365),
    )
    problems = mdoc.validate_configuration(prepare_configuration(configuration, mdoc).format_configuration(now))
    if problems:
        raise RuntimeError(f"the bench configuration is invalid: {problems}")
    return Fixture(
        now=now,
        signer=document_signer.with_x5c([certificate]),
        holder_public_jwk=holder_jwk,
        proof=_sign_proof(holder, holder_jwk, now),
        prepared=prepare_configuration(configuration, mdoc),
        mdoc=mdoc,
    )


def _sign_proof(key: ec.EllipticCurvePrivateKey, jwk: dict[str, str], now: datetime) -> str:
    """An ``openid4vci-proof+jwt`` as a wallet makes it (jwk header, aud, iat, nonce), signed with ES256."""

    def part(value: dict[str, Any]) -> str:
        return encode_base64url(json.dumps(value, separators=(",", ":")).encode())

    header = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jwk}
    payload = {"aud": AUDIENCE, "iat": int(now.timestamp()), "nonce": secrets.token_urlsafe(32)}
    signing_input = f"{part(header)}.{part(payload)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{encode_base64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def plan(fixture: Fixture) -> IssuancePlan:
    """Claim mapping and coercion, as the pipeline does it for a pre-authorized grant (no IdP subject)."""
    return plan_issuance(fixture.prepared, {**CLAIMS}, None, fixture.now)


def holder_key_from_proof(fixture: Fixture) -> HolderKey:
    """What ``IssuanceService`` does per proof: parse, verify (F.1), build the HolderKey, read its thumbprint."""
    verified = verify_jwt_proof(parse_jwt_proof(fixture.proof), audience=AUDIENCE, now=fixture.now)
    key = verified.key
    _ = key.thumbprint  # the batch's distinct-keys check
    return key


def issue(fixture: Fixture, issuance: IssuancePlan, key: HolderKey, random_bytes: RandomBytes) -> IssuedCredential:
    """``MsoMdocFormat.issue`` exactly as ``sign_credentials`` calls it."""
    return fixture.mdoc.issue(
        issuance.values,
        key,
        issuance.format_configuration,
        fixture.signer,
        fixture.now,
        random_bytes=random_bytes,
        validity=issuance.validity,
    )


# ---- the replay of MsoMdocFormat.issue, stage by stage: keep it in step with credential_format.py ----------------

STAGES = ("validity", "elements", "mso", "cose_sign1", "issuer_signed_base64", "details")
STAGE_NAMES = {
    "validity": "validity window (signer certificate read)",
    "elements": "element encoding + digests (once, since the digests lever)",
    "mso": "MSO (valueDigests, device key, CBOR)",
    "cose_sign1": "COSE_Sign1 (Sig_structure + ES256 sign)",
    "issuer_signed_base64": "IssuerSigned CBOR + base64url",
    "details": "record details (digests, msoHash, thumbprint)",
}


def issue_in_stages(
    fixture: Fixture, issuance: IssuancePlan, key: HolderKey, random_bytes: RandomBytes, laps: list[int]
) -> IssuedCredential:
    """Replay ``MsoMdocFormat.issue``; append ``perf_counter_ns`` after each stage to ``laps``."""
    clock = time.perf_counter_ns
    config = issuance.format_configuration
    signer = fixture.signer
    laps.append(clock())
    window = compute_validity_window(
        now=fixture.now,
        expires_in=config.expires_in or timedelta(0),
        doc_type=config.credential_type,
        requested=issuance.validity,
        certificate_chain=signer.x5c,
    )
    laps.append(clock())
    elements = create_signed_elements(issuance.values, random_bytes)
    laps.append(clock())
    payload = encode_mobile_security_object(
        elements,
        device_key=key,
        doc_type=config.credential_type,
        signed=window.signed,
        valid_from=window.valid_from,
        valid_until=window.valid_until,
    )
    laps.append(clock())
    issuer_auth = create_cose_sign1(payload, signer)
    laps.append(clock())
    credential = encode_base64url(encode_issuer_signed(elements, issuer_auth))
    laps.append(clock())
    details = describe_issued_mdoc(config.credential_type, key, elements, payload)
    thumbprint = key.thumbprint
    laps.append(clock())
    return IssuedCredential(
        format_id=MSO_MDOC,
        credential_type=config.credential_type,
        credential=credential,
        signed_at=window.signed,
        valid_from=window.valid_from,
        valid_until=window.valid_until,
        holder_key_thumbprint=thumbprint,
        details=details,
    )


# ---- checks and timing -------------------------------------------------------------------------------------------


def check_replay(fixture: Fixture) -> dict[str, int]:
    """Fail unless the replay builds what ``issue`` builds (same randomness); return the credential's sizes."""
    issuance = plan(fixture)
    key = holder_key_from_proof(fixture)
    real = issue(fixture, issuance, key, random.Random(1).randbytes)
    replay = issue_in_stages(fixture, issuance, key, random.Random(1).randbytes, [])
    real_signed, replay_signed = (cbor2.loads(decode_base64url(c.credential)) for c in (real, replay))
    same = (
        real_signed["nameSpaces"] == replay_signed["nameSpaces"]
        and real_signed["issuerAuth"][:3] == replay_signed["issuerAuth"][:3]
        and real.details == replay.details
        and real.holder_key_thumbprint == replay.holder_key_thumbprint
    )
    if not same:
        raise RuntimeError("issue_in_stages no longer mirrors MsoMdocFormat.issue: update the bench")
    elements = sum(len(items) for items in real_signed["nameSpaces"].values())
    if elements != len(CLAIMS):
        raise RuntimeError(f"expected {len(CLAIMS)} elements, the credential has {elements}")
    return {
        "elements": elements,
        "credential_chars": len(real.credential),
        "mso_bytes": len(real_signed["issuerAuth"][2]),
    }


def _median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


def time_calls(action: Callable[[], object], iterations: int) -> tuple[float, float]:
    """Median wall µs of single calls, and mean CPU µs per call over the batch."""
    samples: list[int] = []
    clock = time.perf_counter_ns
    cpu_start = time.process_time_ns()
    for _ in range(iterations):
        start = clock()
        action()
        samples.append(clock() - start)
    cpu = (time.process_time_ns() - cpu_start) / iterations / 1000
    return _median_us(samples), cpu


def time_stages(fixture: Fixture, iterations: int) -> dict[str, float]:
    issuance = plan(fixture)
    key = holder_key_from_proof(fixture)
    per_stage: dict[str, list[int]] = {stage: [] for stage in STAGES}
    total: list[int] = []
    for _ in range(iterations):
        laps: list[int] = []
        issue_in_stages(fixture, issuance, key, secrets.token_bytes, laps)
        if len(laps) != len(STAGES) + 1:
            raise RuntimeError("issue_in_stages must record one lap per stage")
        for stage, start, end in zip(STAGES, laps, laps[1:], strict=False):
            per_stage[stage].append(end - start)
        total.append(laps[-1] - laps[0])
    medians = {stage: _median_us(samples) for stage, samples in per_stage.items()}
    medians["sum_of_stages"] = _median_us(total)
    return medians


def measure(fixture: Fixture, iterations: int) -> dict[str, Any]:
    issuance = plan(fixture)
    key = holder_key_from_proof(fixture)
    for _ in range(max(iterations // 10, 50)):  # warm caches (certificate info, allocator)
        issue(fixture, issuance, key, secrets.token_bytes)
    results: dict[str, Any] = {}
    results["mapping_us"], results["mapping_cpu_us"] = time_calls(lambda: plan(fixture), iterations)
    results["proof_us"], results["proof_cpu_us"] = time_calls(lambda: holder_key_from_proof(fixture), iterations)
    results["issue_us"], results["issue_cpu_us"] = time_calls(
        lambda: issue(fixture, issuance, key, secrets.token_bytes), iterations
    )
    results["stages_us"] = time_stages(fixture, iterations)
    results["end_to_end_us"], results["end_to_end_cpu_us"] = time_calls(
        lambda: issue(fixture, plan(fixture), holder_key_from_proof(fixture), secrets.token_bytes), iterations
    )
    return results


def cbor2_c_extension() -> bool:
    """Whether cbor2 runs its C extension (``_cbor2``) rather than the pure-Python encoder."""
    return type(cbor2.dumps).__name__ == "builtin_function_or_method"


def report(results: dict[str, Any], sizes: dict[str, int], iterations: int) -> str:
    floor = results["floor"]
    stages = results["stages_us"]
    lines = [
        f"mDoc build: {sizes['elements']} elements ({PORTRAIT_SIZE // 1024} KB portrait), credential "
        f"{sizes['credential_chars']} base64url characters, MSO {sizes['mso_bytes']} bytes; {iterations} iterations; "
        f"Python {platform.python_version()}, cbor2 C extension {'on' if results['cbor2_c'] else 'OFF'}",
        "",
        "| stage (replay of MsoMdocFormat.issue) | median µs |",
        "|---|---:|",
    ]
    lines += [f"| {STAGE_NAMES[stage]} | {stages[stage]:.1f} |" for stage in STAGES]
    lines += [
        f"| sum of stages (median of per-run sums) | {stages['sum_of_stages']:.1f} |",
        "",
        "| measurement | median µs | CPU µs (batch mean) |",
        "|---|---:|---:|",
        f"| **MsoMdocFormat.issue** (whole mDoc build, ES256 sign included) | **{results['issue_us']:.1f}** "
        f"| {results['issue_cpu_us']:.1f} |",
        f"| MsoMdocFormat.issue minus the ES256 sign floor | {results['issue_us'] - floor['sign_us']:.1f} | |",
        f"| claim mapping and coercion (plan_issuance) | {results['mapping_us']:.1f} "
        f"| {results['mapping_cpu_us']:.1f} |",
        f"| proof -> HolderKey (parse, verify F.1, key, thumbprint) | {results['proof_us']:.1f} "
        f"| {results['proof_cpu_us']:.1f} |",
        f"| end to end: mapping + proof + issue | {results['end_to_end_us']:.1f} "
        f"| {results['end_to_end_cpu_us']:.1f} |",
        f"| floor: ES256 sign (cryptography) | {floor['sign_us']:.1f} | |",
        f"| floor: ES256 verify (cryptography) | {floor['verify_us']:.1f} | |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=3000, help="timed runs per measurement (default 3000)")
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args()
    fixture = build_fixture()
    sizes = check_replay(fixture)
    gc.collect()
    results = measure(fixture, args.iterations)
    floor = measure_floor()
    results["floor"] = {"sign_us": floor.sign_ms * 1000, "verify_us": floor.verify_ms * 1000}
    results["cbor2_c"] = cbor2_c_extension()
    results["sizes"] = sizes
    print(report(results, sizes, args.iterations))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    print(f"done: {results['issue_us']:.1f} µs per mDoc build", file=sys.stderr)


if __name__ == "__main__":
    main()
