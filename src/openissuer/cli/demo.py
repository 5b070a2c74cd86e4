"""``openissuer demo``: seed the default tenant with an active IACA, an mDL configuration and a fresh offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from openissuer.bootstrap import Container
from openissuer.domain.api_clients import ManagementPrincipal, Role
from openissuer.domain.branding import Branding
from openissuer.domain.durations import Duration
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.services.configurations import ConfigurationInput
from openissuer.services.iacas import IacaInput
from openissuer.services.offers import OfferInput

MSO_MDOC = "mso_mdoc"  # the format the demo issues (an mDL)
MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
DEMO_PRINCIPAL = ManagementPrincipal(tenant_id=DEFAULT_TENANT_ID, client_id="demo", roles=frozenset({Role.ADMIN}))


def _mapping(claim: str, claim_type: str) -> dict[str, object]:
    return {"mapFrom": f"claims.{claim}", "type": claim_type, "required": True}


MDL_MAPPINGS = {
    NS: {
        "family_name": _mapping("family_name", "string"),
        "given_name": _mapping("given_name", "string"),
        "birth_date": _mapping("birth_date", "date"),
        "issue_date": _mapping("issue_date", "date"),
        "expiry_date": _mapping("expiry_date", "date"),
        "issuing_country": {"defaultValue": "NZ", "type": "string"},
        "issuing_authority": {"defaultValue": "openissuer demo", "type": "string"},
        "document_number": _mapping("document_number", "string"),
        "driving_privileges": {"mapFrom": "claims.driving_privileges", "type": "array"},
    }
}


@dataclass(frozen=True)
class DemoOffer:
    """What the demo prints."""

    configuration_id: str
    uri: str
    expires_in_minutes: int


async def seed_demo(container: Container, *, offer_minutes: int) -> DemoOffer:
    """Make sure an active IACA and the demo mDL configuration exist, then create a by-reference offer."""
    if not await container.iacas.list_active(DEFAULT_TENANT_ID):
        iaca = await container.iacas.create_as(
            DEMO_PRINCIPAL, IacaInput(country="NZ", common_name="openissuer demo IACA")
        )
        await container.iacas.set_active_as(DEMO_PRINCIPAL, iaca.id, True)
    page = await container.configurations.list_as(DEMO_PRINCIPAL, MSO_MDOC, limit=1, after=None, credential_type=MDL)
    if page.items:
        configuration = page.items[0]
    else:
        configuration = await container.configurations.create_as(
            DEMO_PRINCIPAL,
            MSO_MDOC,
            ConfigurationInput(
                credential_type=MDL,
                claim_mappings=MDL_MAPPINGS,
                expires_in=Duration(days=365),
                branding=Branding(name="Demo driving licence", background_color="#1E3A5F"),
            ),
        )
    today = date.today()
    claims = {
        "family_name": "Ngata",
        "given_name": "Ana",
        "birth_date": "1990-01-02",
        "issue_date": today.isoformat(),
        "expiry_date": (today + timedelta(days=365)).isoformat(),
        "document_number": "DL-0001",
        "driving_privileges": [{"vehicle_category_code": "B", "issue_date": "2010-05-01"}],
    }
    created = await container.offers.create_pre_authorized_as(
        DEMO_PRINCIPAL,
        OfferInput(
            configuration_ids=[configuration.id],
            claims=claims,
            expires_in=Duration(minutes=offer_minutes),
            by_reference=True,
        ),
    )
    return DemoOffer(configuration_id=configuration.id, uri=created.uri, expires_in_minutes=offer_minutes)
