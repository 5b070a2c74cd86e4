"""``/v2/credentials/mobile/configurations``: CRUD and every validation rule of reference §4.2."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from openissuer.domain.api_clients import Role
from openissuer.domain.ids import new_id
from openissuer.domain.tenants import Tenant

PATH = "/v2/credentials/mobile/configurations"
MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"


def mdl_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": MDL,
        "claimMappings": {
            NS: {
                "given_name": {"mapFrom": "claims.given_name", "type": "string", "required": True},
                "family_name": {"mapFrom": "claims.family_name", "type": "string", "required": True},
                "birth_date": {"mapFrom": "claims.birth_date", "type": "date", "required": True},
                "issuing_country": {"defaultValue": "NZ", "type": "string"},
                "portrait": {"mapFrom": "claims.portrait", "type": "bytes"},
            }
        },
        "expiresIn": {"days": 365},
        "branding": {"name": "Driver licence", "backgroundColor": "#112233"},
    }
    body.update(overrides)
    return body


async def test_create_read_list_replace_delete(api: Any) -> None:
    headers = await api.auth()
    created = await api.http.post(PATH, headers=headers, json=mdl_body())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["type"] == MDL
    assert body["expiresIn"] == {"days": 365}
    assert body["includeStatus"] is False
    assert body["claimMappings"] == mdl_body()["claimMappings"]
    assert body["branding"] == {"name": "Driver licence", "backgroundColor": "#112233"}
    id = body["id"]
    assert (await api.http.get(f"{PATH}/{id}", headers=headers)).json() == body
    api.clock.advance(seconds=1)
    other = await api.http.post(PATH, headers=headers, json=mdl_body(type="org.example.badge"))
    listed = (await api.http.get(PATH, headers=headers)).json()["data"]
    assert [c["id"] for c in listed] == [id, other.json()["id"]]
    filtered = (await api.http.get(PATH, headers=headers, params={"type": MDL})).json()["data"]
    assert [c["id"] for c in filtered] == [id]
    replaced = await api.http.put(
        f"{PATH}/{id}", headers=headers, json=mdl_body(expiresIn={"months": 6}, validUntil={"mapFrom": "claims.exp"})
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["expiresIn"] == {"months": 6}
    assert replaced.json()["validUntil"] == {"mapFrom": "claims.exp"}
    assert "branding" in replaced.json()
    assert (await api.http.delete(f"{PATH}/{id}", headers=headers)).status_code == 204
    assert (await api.http.get(f"{PATH}/{id}", headers=headers)).status_code == 404
    assert (await api.http.delete(f"{PATH}/{id}", headers=headers)).status_code == 404
    assert (await api.http.put(f"{PATH}/{id}", headers=headers, json=mdl_body())).status_code == 404


async def test_doctype_is_unique_per_tenant(api: Any) -> None:
    headers = await api.auth()
    assert (await api.http.post(PATH, headers=headers, json=mdl_body())).status_code == 201
    clash = await api.http.post(PATH, headers=headers, json=mdl_body())
    assert clash.status_code == 409
    assert clash.json()["details"][0]["param"] == "type"
    other = (await api.http.post(PATH, headers=headers, json=mdl_body(type="org.example.x"))).json()
    renamed = await api.http.put(f"{PATH}/{other['id']}", headers=headers, json=mdl_body())
    assert renamed.status_code == 409


def _without(path: list[str]) -> dict[str, Any]:
    body = mdl_body()
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def _with(path: list[str], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(mdl_body())
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


INVALID = [
    pytest.param(_with(["type"], ""), "type", id="empty-type"),
    pytest.param(_with(["type"], "x" * 1025), "type", id="long-type"),
    pytest.param(_with(["type"], "VerifiableCredential"), "type", id="reserved-type"),
    pytest.param(_without(["claimMappings"]), "claimMappings", id="no-mappings"),
    pytest.param(_with(["claimMappings"], {}), "claimMappings", id="empty-mappings"),
    pytest.param(
        _with(["claimMappings", NS, "given_name", "type"], "colour"),
        f"claimMappings.{NS}.given_name.type",
        id="unknown-type",
    ),
    pytest.param(
        _with(["claimMappings", NS, "given_name", "mapFrom"], "claims..x"),
        f"claimMappings.{NS}.given_name.mapFrom",
        id="bad-path",
    ),
    pytest.param(
        _with(["claimMappings", NS, "family_name"], {"mapFrom": "claims.family_name"}),
        f"claimMappings.{NS}.family_name.type",
        id="mapFrom-without-type",
    ),
    pytest.param(
        _with(["claimMappings", NS, "issuing_country"], {"defaultValue": 5, "type": "boolean"}),
        f"claimMappings.{NS}.issuing_country.defaultValue",
        id="default-of-wrong-type",
    ),
    pytest.param(
        _with(["claimMappings", NS, "x"], {"required": True}), f"claimMappings.{NS}.x", id="neither-mapFrom-nor-default"
    ),
    pytest.param(_without(["expiresIn"]), "expiresIn", id="no-expiresIn"),
    pytest.param(_with(["expiresIn"], {}), "expiresIn", id="zero-expiresIn"),
    pytest.param(_with(["expiresIn"], {"days": -1}), "expiresIn.days", id="negative-expiresIn"),
    pytest.param(_with(["expiresIn"], {"fortnights": 1}), "expiresIn.fortnights", id="unknown-unit"),
    pytest.param(_with(["expiresIn"], {"days": 427}), "expiresIn", id="mdl-427-days"),
    pytest.param(_with(["expiresIn"], {"years": 2}), "expiresIn", id="mdl-2-years"),
    pytest.param(
        _with(["type"], "org.example.badge") | {"expiresIn": {"days": 3621}}, "expiresIn", id="mdoc-3621-days"
    ),
    pytest.param(_with(["validFrom"], {"mapFrom": "claims['open"}), "validFrom.mapFrom", id="bad-validFrom"),
    pytest.param(_with(["validUntil"], {"mapFrom": "nowhere.x"}), "validUntil.mapFrom", id="bad-validUntil-root"),
    pytest.param(_with(["claimSourceId"], new_id()), "claimSourceId", id="unknown-claims-source"),
    pytest.param(_with(["includeStatus"], "maybe"), "includeStatus", id="status-not-a-boolean"),
    pytest.param(_with(["branding", "backgroundColor"], "red"), "branding.backgroundColor", id="bad-colour"),
    pytest.param(_with(["branding", "issuerLogo"], "http://x.example/logo.png"), "branding.issuerLogo", id="http-logo"),
    pytest.param(
        _with(["branding", "watermarkImage"], "data:image/jpeg;base64,AAAA"),
        "branding.watermarkImage",
        id="jpeg-watermark",
    ),
    pytest.param(_with(["branding", "issuerIcon"], "https://x.example/i.svg"), "branding.issuerIcon", id="icon-url"),
    pytest.param(_with(["branding", "name"], " "), "branding.name", id="blank-name"),
]


@pytest.mark.parametrize(("body", "param"), INVALID)
async def test_invalid_configurations_are_400_naming_the_field(api: Any, body: dict[str, Any], param: str) -> None:
    response = await api.http.post(PATH, headers=await api.auth(), json=body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["code"] == "BadRequest"
    params = [d["param"] for d in payload["details"]]
    assert any(p == param or p.startswith(param + ".") for p in params), params


async def test_limits_at_the_boundary_are_accepted(api: Any) -> None:
    headers = await api.auth()
    assert (await api.http.post(PATH, headers=headers, json=mdl_body(expiresIn={"days": 426}))).status_code == 201
    badge = mdl_body(type="org.example.badge", expiresIn={"days": 3620})
    assert (await api.http.post(PATH, headers=headers, json=badge)).status_code == 201


async def test_roles_and_tenants(api: Any) -> None:
    admin = await api.auth()
    created = (await api.http.post(PATH, headers=admin, json=mdl_body())).json()
    auditor = await api.container.api_clients.create_client(
        "00000000-0000-4000-8000-000000000000", name="a", roles=(Role.AUDITOR,)
    )
    auditor_headers = await api.auth(auditor.client.client_id, auditor.client_secret)
    assert (await api.http.get(f"{PATH}/{created['id']}", headers=auditor_headers)).status_code == 200
    assert (await api.http.post(PATH, headers=auditor_headers, json=mdl_body(type="x.y"))).status_code == 403
    assert (await api.http.delete(f"{PATH}/{created['id']}", headers=auditor_headers)).status_code == 403

    other = Tenant(id=new_id(), name="other", created_at=api.clock.now())
    async with api.container.uow_factory() as uow:
        await uow.tenants.add(other)
        await uow.commit()
    theirs = await api.container.api_clients.create_client(other.id, name="t", roles=(Role.ISSUER,))
    their_headers = await api.auth(theirs.client.client_id, theirs.client_secret)
    assert (await api.http.get(f"{PATH}/{created['id']}", headers=their_headers)).status_code == 404
    assert (await api.http.delete(f"{PATH}/{created['id']}", headers=their_headers)).status_code == 404
    # the same docType is free in another tenant
    assert (await api.http.post(PATH, headers=their_headers, json=mdl_body())).status_code == 201
    assert (await api.http.get(PATH, headers=their_headers)).json()["data"][0]["type"] == MDL


async def test_credential_configurations_supported_entry(api: Any) -> None:
    created = (await api.http.post(PATH, headers=await api.auth(), json=mdl_body())).json()
    metadata = (await api.http.get("/.well-known/openid-credential-issuer")).json()
    entry = metadata["credential_configurations_supported"][created["id"]]
    assert metadata["mdoc_iacas_uri"] == "https://issuer.example/core/v1/openid/iacas"
    assert entry["format"] == "mso_mdoc"
    assert entry["doctype"] == MDL
    assert entry["scope"] == f"mso_mdoc:{MDL}"
    assert entry["cryptographic_binding_methods_supported"] == ["cose_key", "jwk"]
    assert entry["credential_signing_alg_values_supported"] == [-7]
    assert entry["proof_types_supported"] == {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}
    display = entry["credential_metadata"]["display"]
    assert display == [{"name": "Driver licence", "background_color": "#112233"}]
    claims = entry["credential_metadata"]["claims"]
    assert {"path": [NS, "given_name"], "mandatory": True} in claims
    assert {"path": [NS, "portrait"]} in claims
    assert len(claims) == 5
