"""Draft-era shapes the reference platform's wallets read and send (``protocol/legacy_metadata.py``,
``protocol/legacy_credential_request.py``)."""

from __future__ import annotations

import pytest

from openissuer.errors import InvalidCredentialRequestError, InvalidProofError
from openissuer.protocol.credential_request import parse_credential_request
from openissuer.protocol.legacy_credential_request import LegacySelector
from openissuer.protocol.legacy_metadata import add_legacy_issuer_members, create_nested_claims

MDOC_ENTRY = {
    "format": "mso_mdoc",
    "doctype": "org.iso.18013.5.1.mDL",
    "scope": "mso_mdoc:org.iso.18013.5.1.mDL",
    "cryptographic_binding_methods_supported": ["cose_key", "jwk"],
    "credential_signing_alg_values_supported": [-7],
    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
    "credential_metadata": {
        "display": [{"name": "Licence"}],
        "claims": [
            {"path": ["org.iso.18013.5.1", "given_name"], "mandatory": True, "display": [{"name": "Given name"}]},
            {"path": ["org.iso.18013.5.1", "portrait"]},
        ],
    },
}


def test_issuer_metadata_gains_ids_display_the_draft_array_and_the_as_members() -> None:
    metadata = {"credential_issuer": "https://i.example", "credential_configurations_supported": {"c1": MDOC_ENTRY}}
    server = {"issuer": "https://i.example", "token_endpoint": "https://i.example/t", "jwks_uri": "x", "dpop": 1}
    legacy = add_legacy_issuer_members(metadata, server)
    assert legacy["token_endpoint"] == "https://i.example/t" and legacy["issuer"] == "https://i.example"
    assert "jwks_uri" not in legacy and "dpop" not in legacy  # only the members the reference repeats
    entry = legacy["credential_configurations_supported"]["c1"]
    assert entry["id"] == "c1" and entry["display"] == [{"name": "Licence"}]
    assert metadata["credential_configurations_supported"]["c1"] is MDOC_ENTRY and "id" not in MDOC_ENTRY
    (draft,) = legacy["credentials_supported"]
    assert draft == {
        "id": "c1",
        "format": "mso_mdoc",
        "scope": "mso_mdoc:org.iso.18013.5.1.mDL",
        "doctype": "org.iso.18013.5.1.mDL",
        "cryptographic_binding_methods_supported": ["cose_key", "jwk"],
        "cryptographic_suites_supported": [-7],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
        "display": [{"name": "Licence"}],
        "claims": {
            "org.iso.18013.5.1": {
                "given_name": {"mandatory": True, "display": [{"name": "Given name"}]},
                "portrait": {},
            }
        },
    }


def test_nested_claims_leave_out_array_positions() -> None:
    claims = [
        {"path": ["address", "locality"], "mandatory": True},
        {"path": ["address"], "display": [{"name": "Address"}]},
        {"path": ["degrees", 0, "type"]},
        {"path": ["nationalities", None]},
        {"path": []},
    ]
    assert create_nested_claims(claims) == {
        "address": {"locality": {"mandatory": True}, "display": [{"name": "Address"}]}
    }


def test_a_legacy_body_is_recognised_by_format_without_a_1_0_identifier() -> None:
    parsed = parse_credential_request(
        {"format": "mso_mdoc", "doctype": "d", "proof": {"proof_type": "jwt", "jwt": "a.b.c"}}, batch_size=1
    )
    assert parsed.legacy == LegacySelector("mso_mdoc", (("doctype", "d"),)) and parsed.jwt_proofs == ("a.b.c",)
    standard = parse_credential_request(
        {"format": "mso_mdoc", "credential_configuration_id": "c", "proofs": {"jwt": ["a.b.c"]}}, batch_size=1
    )
    assert standard.legacy is None and standard.credential_configuration_id == "c"  # "format" ignored in 1.0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"format": 1}, InvalidCredentialRequestError),
        ({"format": "mso_mdoc", "vct": ""}, InvalidCredentialRequestError),
        ({"format": "ldp_vc", "credential_definition": ["x"]}, InvalidCredentialRequestError),
        ({"format": "mso_mdoc", "proof": "a.b.c"}, InvalidProofError),
        ({"format": "mso_mdoc", "proof": {"proof_type": "jwt", "jwt": ""}}, InvalidProofError),
    ],
)
def test_malformed_legacy_bodies(body: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_credential_request(body, batch_size=1)


def test_a_selector_matches_entries_by_format_and_type_members() -> None:
    assert LegacySelector("mso_mdoc", (("doctype", "org.iso.18013.5.1.mDL"),)).matches_entry(MDOC_ENTRY)
    assert LegacySelector("mso_mdoc", ()).matches_entry(MDOC_ENTRY)
    assert not LegacySelector("mso_mdoc", (("doctype", "other"),)).matches_entry(MDOC_ENTRY)
    assert not LegacySelector("dc+sd-jwt", ()).matches_entry(MDOC_ENTRY)
    vc = {"format": "ldp_vc", "credential_definition": {"type": ["VerifiableCredential", "A"]}}
    wanted = {"type": ["VerifiableCredential", "A"], "@context": ["https://www.w3.org/2018/credentials/v1"]}
    assert LegacySelector("ldp_vc", (("credential_definition", wanted),)).matches_entry(vc)
    assert not LegacySelector("ldp_vc", (("credential_definition", {"type": ["B"]}),)).matches_entry(vc)
