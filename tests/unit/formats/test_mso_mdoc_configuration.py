"""The mso_mdoc configuration checks and its credential_configurations_supported entry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from openissuer.errors import ValidationError
from openissuer.formats.base import Branding, ClaimDescription, ClaimDisplay, FormatConfiguration
from openissuer.formats.mso_mdoc import MsoMdocFormat

MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
FORMAT = MsoMdocFormat()
CLAIMS = (
    ClaimDescription((NS, "given_name"), mandatory=True, display=(ClaimDisplay("Given name", "en"),)),
    ClaimDescription((NS, "birth_date"), display=(ClaimDisplay("Date of birth"),)),
)
BRANDING = Branding(
    name="Driver licence",
    description="Example mDL",
    background_color="#1A2B3C",
    text_color="#FFFFFF",
    logo_uri="https://issuer.example.com/logo.png",
    logo_alt_text="Example logo",
    locale="en-NZ",
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


def test_format_id() -> None:
    assert FORMAT.format_id == "mso_mdoc"


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
                    "locale": "en-NZ",
                    "logo": {"uri": "https://issuer.example.com/logo.png", "alt_text": "Example logo"},
                    "description": "Example mDL",
                    "background_color": "#1A2B3C",
                    "text_color": "#FFFFFF",
                }
            ],
            "claims": [
                {"path": [NS, "given_name"], "mandatory": True, "display": [{"name": "Given name", "locale": "en"}]},
                {"path": [NS, "birth_date"], "display": [{"name": "Date of birth"}]},
            ],
        },
    }


def test_metadata_without_branding_or_claims_omits_credential_metadata() -> None:
    assert "credential_metadata" not in FORMAT.metadata(_config(branding=None, claims=()))
    assert FORMAT.metadata(_config(branding=None))["credential_metadata"].keys() == {"claims"}


def test_a_valid_configuration_passes() -> None:
    FORMAT.validate_configuration(_config())
    FORMAT.validate_configuration(_config(expires_in=timedelta(days=426)))
    FORMAT.validate_configuration(_config(credential_type="org.example.membership", expires_in=timedelta(days=3620)))
    FORMAT.validate_configuration(_config(branding=Branding(name="x", logo_uri="data:image/png;base64,AAAA")))


def _problems(config: FormatConfiguration) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        FORMAT.validate_configuration(config)
    return [(detail.param, detail.msg) for detail in caught.value.details]


@pytest.mark.parametrize(
    ("changes", "param", "fragment"),
    [
        ({"credential_type": ""}, "type", "1-1024"),
        ({"credential_type": "x" * 1025}, "type", "1-1024"),
        ({"credential_type": "VerifiableCredential"}, "type", "VerifiableCredential"),
        ({"claims": ()}, "claimMappings", "at least one"),
        ({"claims": (ClaimDescription(("only-one-part",)),)}, "claimMappings", "namespace"),
        ({"claims": (*CLAIMS, CLAIMS[0])}, f"claimMappings.{NS}.given_name", "more than once"),
        ({"expires_in": timedelta(days=427)}, "expiresIn", "less than 427"),
        ({"expires_in": timedelta(0)}, "expiresIn", "positive"),
        ({"credential_type": "org.example.x", "expires_in": timedelta(days=3621)}, "expiresIn", "3620"),
        ({"branding": Branding(name=" ")}, "branding.name", "empty"),
        ({"branding": Branding(name="x", background_color="red")}, "branding.backgroundColor", "#RRGGBB"),
        ({"branding": Branding(name="x", text_color="#12345")}, "branding.textColor", "#RRGGBB"),
        ({"branding": Branding(name="x", logo_uri="http://insecure/logo.png")}, "branding.issuerLogo", "https"),
    ],
)
def test_invalid_configurations_are_refused(changes: dict[str, object], param: str, fragment: str) -> None:
    problems = _problems(_config(**changes))
    assert any(found_param == param and fragment in msg for found_param, msg in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(_config(credential_type="", claims=(), expires_in=timedelta(days=-1)))
    assert [param for param, _ in problems] == ["type", "claimMappings", "expiresIn"]
