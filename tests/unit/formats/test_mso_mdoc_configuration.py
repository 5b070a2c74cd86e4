"""The mso_mdoc configuration checks, its credential_configurations_supported entry, and the shared branding and
claim-description checks (formats/credential_metadata.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openissuer.domain.branding import Branding
from openissuer.formats.base import ClaimDescription, ClaimDisplay, FormatConfiguration
from openissuer.formats.credential_metadata import find_branding_problems, find_claim_description_problems
from openissuer.formats.mso_mdoc import MsoMdocFormat

MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
FORMAT = MsoMdocFormat()
CLAIMS = (
    ClaimDescription(
        (NS, "given_name"),
        mandatory=True,
        display=(ClaimDisplay("Given name", "en"),),
        mapped=True,
        value_type="string",
    ),
    ClaimDescription((NS, "birth_date"), display=(ClaimDisplay("Date of birth"),), mapped=True, value_type="date"),
)
BRANDING = Branding(
    name="Driver licence",
    description="Example mDL",
    background_color="#1A2B3C",
    issuer_logo="https://issuer.example.com/logo.png",
    watermark_image="data:image/png;base64,AAAA",
)


def _config(**changes: object) -> FormatConfiguration:
    arguments: dict[str, object] = {
        "credential_type": MDL,
        "claims": CLAIMS,
        "expires_in": timedelta(days=365),
        "branding": BRANDING,
    }
    arguments.update(changes)
    return FormatConfiguration(**arguments)  # type: ignore[arg-type]


def test_the_format_describes_itself() -> None:
    assert (FORMAT.format_id, FORMAT.profile, FORMAT.binds_holder) == ("mso_mdoc", "mobile", True)
    assert (FORMAT.schema.type_field, FORMAT.schema.claims_namespaced, FORMAT.schema.status_field) == (
        "type",
        True,
        "includeStatus",
    )
    assert FORMAT.scope(_config()) == MDL
    assert FORMAT.issuer_metadata("https://issuer.example/t") == {
        "mdoc_iacas_uri": "https://issuer.example/t/core/v1/openid/iacas"
    }


def test_metadata_has_the_oid4vci_1_0_shape() -> None:
    assert FORMAT.metadata(_config()) == {
        "format": "mso_mdoc",
        "doctype": MDL,
        "cryptographic_binding_methods_supported": ["cose_key", "jwk"],
        "credential_signing_alg_values_supported": [-7],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
        "credential_metadata": {
            "display": [
                {
                    "name": "Driver licence",
                    "logo": {"uri": "https://issuer.example.com/logo.png"},
                    "description": "Example mDL",
                    "background_color": "#1A2B3C",
                    "background_image": {"uri": "data:image/png;base64,AAAA"},
                }
            ],
            "claims": [
                {"path": [NS, "given_name"], "mandatory": True, "display": [{"name": "Given name", "locale": "en"}]},
                {"path": [NS, "birth_date"], "display": [{"name": "Date of birth"}]},
            ],
        },
    }


def test_the_display_name_defaults_to_the_doctype() -> None:
    metadata = FORMAT.metadata(_config(branding=Branding(background_color="#000000")))
    assert metadata["credential_metadata"]["display"] == [{"name": MDL, "background_color": "#000000"}]


def test_metadata_without_branding_or_claims_omits_credential_metadata() -> None:
    assert "credential_metadata" not in FORMAT.metadata(_config(branding=None, claims=()))
    assert FORMAT.metadata(_config(branding=None))["credential_metadata"].keys() == {"claims"}


def test_a_valid_configuration_passes() -> None:
    assert FORMAT.validate_configuration(_config()) == []
    assert FORMAT.validate_configuration(_config(expires_in=timedelta(days=426))) == []
    membership = _config(credential_type="org.example.membership", expires_in=timedelta(days=3620))
    assert FORMAT.validate_configuration(membership) == []


def _problems(config: FormatConfiguration) -> list[tuple[str, str]]:
    return [(detail.param, detail.msg) for detail in FORMAT.validate_configuration(config)]


@pytest.mark.parametrize(
    ("changes", "param", "fragment"),
    [
        ({"credential_type": ""}, "type", "1-1024"),
        ({"credential_type": "x" * 1025}, "type", "1-1024"),
        ({"credential_type": "VerifiableCredential"}, "type", "VerifiableCredential"),
        ({"claims": ()}, "claimMappings", "at least one"),
        ({"claims": (ClaimDescription(("only-one-part",)),)}, "claimMappings", "namespace"),
        ({"claims": (ClaimDescription((NS, "x"), mapped=True),)}, f"claimMappings.{NS}.x.type", "mapFrom"),
        ({"expires_in": timedelta(days=427)}, "expiresIn", "less than 427"),
        ({"expires_in": timedelta(0)}, "expiresIn", "positive"),
        ({"expires_in": None}, "expiresIn", "required"),
        ({"credential_type": "org.example.x", "expires_in": timedelta(days=3621)}, "expiresIn", "3620"),
    ],
)
def test_invalid_configurations_are_refused(changes: dict[str, object], param: str, fragment: str) -> None:
    problems = _problems(_config(**changes))
    assert any(found_param == param and fragment in msg for found_param, msg in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(_config(credential_type="", claims=(), expires_in=timedelta(days=-1)))
    assert [param for param, _ in problems] == ["type", "claimMappings", "expiresIn"]


@pytest.mark.parametrize(
    ("branding", "param", "fragment"),
    [
        (Branding(name=" "), "branding.name", "empty"),
        (Branding(background_color="red"), "branding.backgroundColor", "#RRGGBB"),
        (Branding(issuer_logo="http://insecure/logo.png"), "branding.issuerLogo", "https"),
        (Branding(watermark_image="data:image/jpeg;base64,AAAA"), "branding.watermarkImage", "png"),
        (Branding(issuer_icon="https://x.example/icon.svg"), "branding.issuerIcon", "svg"),
    ],
)
def test_branding_rules(branding: Branding, param: str, fragment: str) -> None:
    problems = [(d.param, d.msg) for d in find_branding_problems(branding)]
    assert any(found == param and fragment in msg for found, msg in problems), problems


def test_good_branding_passes() -> None:
    assert find_branding_problems(BRANDING) == []
    assert find_branding_problems(Branding(issuer_logo="data:image/png;base64,AAAA")) == []
    assert find_branding_problems(None) == []


def test_duplicate_claim_paths_are_refused() -> None:
    problems = find_claim_description_problems(_config(claims=(*CLAIMS, CLAIMS[0])))
    assert [(d.param, d.msg) for d in problems] == [(f"claimMappings.{NS}.given_name", "is configured more than once")]
