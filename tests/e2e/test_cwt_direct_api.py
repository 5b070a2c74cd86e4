"""The direct APIs of compact credentials (reference §9.3): ``/sign``, ``/verify`` (text, image, PDF) and
``/qrcode``; every way a credential fails ``/verify``; an issuer other than the tenant, trusted and resolved over
HTTP; and the reference platform's published samples."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import cbor2
import pytest
from PIL import Image

from oi_cwt import compact_bytes, verify_with_python_cwt
from oi_external_issuer import ExternalIssuer, running_external_issuer
from oi_testing import free_port

SIGN = "/v2/credentials/compact/sign"
VERIFY = "/v2/credentials/compact/verify"
QRCODE = "/v2/credentials/compact/qrcode"
OWN_DID = "did:web:issuer.example"
COURSE = {
    "nbf": 1704099600,
    "type": "Course Credential",
    "name": "Emma Jane Tasma",
    "code": "HS.278",
    "certificationName": "Working at Heights",
    "certificationLevel": "Level 4",
    "issuerName": "Advanced Safety Training",
    "expiry": "2026-01-01",
}

# The reference platform's published samples (quoted in mattr-vii.md §9.2's sources) and, where the page shows it,
# the decoded JSON it published next to the encoded form.
VERIFY_TUTORIAL_SAMPLE = (
    "CSC:/1/2KCE3IQEJB5DCMSMGZDHUUYBE2QFSAL5VMAXQNDENFSDU53FMI5G2YLUORZC2ZDJMR3WKYRNORSXG5BONZSXI3DJMZ4S4YLQOA5EIRKW"
    "HJWG6YLEORSXG5DFOICBVFP2YYZAKGS2L74K4ZDOMFWWK32FNVWWCICKMFXGKICUMFZW2YLEMNXWIZLGJBJS4MRXHBYWGZLSORUWM2LDMF2GS33O"
    "JZQW2ZLSK5XXE23JNZTSAYLUEBEGK2LHNB2HG4TDMVZHI2LGNFRWC5DJN5XEYZLWMVWGOTDFOZSWYIBUNJUXG43VMVZE4YLNMV4BQQLEOZQW4Y3F"
    "MQQFGYLGMV2HSICUOJQWS3TJNZTWMZLYOBUXE6LKGIYDENRNGAYS2MBRHIAACAAAUIBBSAS4AN4IA2DUORYHGORPF5WG6YLEFV2GK43UNFXGOLTQ"
    "NRQXIZTPOJWS4ZDFOYXG2YLUORZGYYLCOMXGS3ZPMNXXEZJPOYZC6Y3SMVSGK3TUNFQWY4ZPMNXW24DBMN2C64TFOZXWGYLUNFXW4LLMNFZXI4ZP"
    "MMYGEY3GMMZDALJRGUYTILJUHA4TSLLBGQ2TCLJZGNRGGY3GHFQTON3BHED5QQCQGNQJXK7NYZDAXN3JOR6WEYYHOBMEBAUOXZHFGWFPR4LR6V3K"
    "LIFH25CNPBZB5LH2AW42YW3KSNPD2DPBKSWN3CLVMOZOJGUKNCNDSHR6X5RRGRJ562P3HEMXUQK367MBGPYA"
)
VERIFY_TUTORIAL_DECODED = {
    "iss": "did:web:mattr-didweb-test.netlify.app:DEV:loadtester",
    "exp": 2516239922,
    "nbf": 1516239022,
    "status": {
        "url": "https://load-testing.platform.dev.mattrlabs.io/core/v2/credentials/compact/revocation-lists/"
        "c0bcfc20-1514-4899-a451-93bccf9a77a9",
        "index": 604,
    },
    "name": "Emma Jane Tasma",
    "code": "HS.278",
    "certificationName": "Working at Heights",
    "certificationLevel": "Level 4",
    "issuerName": "Advanced Safety Training",
    "expiry": "2026-01-01",
    "jti": "M2Cbq-3GRgu3aXR9YmMHcA",
}
SIGN_API_SAMPLE = (
    "CSC:/1/2KCE3IQEJB5DCMSLN5KWKZABE2QFQRVDAF4CIZDJMQ5HOZLCHIYDGOJUFUYTENJNGIZTOLJVGIWTCMJQFZXGO4TPNMXGS33ENZQW2ZLE"
    "JJXWQ3QH3BAFB3LISHKGQ2KBJ6Q35NXZFD6LGZ2YIAYHZAKCF7NKTIUZUTZQ3PWDBALAWVRG5XL2H4P4WFK25X3Y5X5RTN7NOZUST67KLCEFS3E"
    "PXQU5KM7VUGOPXJLQ6K5U676PMQNWRZCZ"
)
SAMPLE_APPS_SAMPLE = (
    "CSC:/1/2KCE3IQEJB5DCMSLNFYUYUQBE2QFSAIJU4AXQJLENFSDU53FMI5G2YLUORZC25LONF3GK4TTNF2HSLTNMF2HI4TMMFRHGLTDN4DBUZZB"
    "HGDAIGTLJHJAAZDOMFWWK22FNVWWCICUMFZW2YLONBQWY5LNNZUU6ZTVJVAVIVCSEBGGCYTTEBKW42LWMVZHG2LUPE5AAAIAACRAEAADPCCWQ5DU"
    "OBZTULZPNRQWE4ZNNVQXI5DSFV2W42LWMVZHG2LUPEXHM2LJFZQXKMBRFZWWC5DUOIXGO3DPMJQWYL3DN5ZGKL3WGIXWG4TFMRSW45DJMFWHGL3D"
    "N5WXAYLDOQXXEZLWN5RWC5DJN5XC23DJON2HGLZXGM3WGMBWHBTC2NDFMM2C2NBTMY4C2YTDHA4S2NRZMUZDMMJUMEZWKZDGA7MEAUBXE2MBKC2X"
    "JAKLSCN2AVW6OJMQLBAJQWGFUIV55FG2U7NK6B4DRSTNOKHVLRBEON47KCHLKZ42FAOMHCA24SHRWIOAAVCKTNQQAE7J2INROWI4DS3ZK3JEXVQG"
    "GZ4UGAJFFI"
)


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"outbound_allow_private": True}  # the external issuer is on loopback, over http


@pytest.fixture
def external() -> Iterator[ExternalIssuer]:
    with running_external_issuer() as issuer:
        issuer.publish_did_document()
        yield issuer


async def _sign(api: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await api.http.post(SIGN, headers=headers, json={"payload": COURSE, **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _verify(api: Any, headers: dict[str, str], payload: str, **options: Any) -> dict[str, Any]:
    response = await api.http.post(VERIFY, headers=headers, json={"payload": payload, **options})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _reencode(encoded: str, change: Any) -> str:
    """Decode the COSE_Sign1, let ``change`` alter its array, encode it back (the signature is kept)."""
    sign1 = cbor2.loads(compact_bytes(encoded))
    change(sign1.value)
    return "CSC:/1/" + base64.b32encode(cbor2.dumps(sign1)).decode().rstrip("=")


async def test_sign_returns_the_credential_its_id_and_its_claims(api: Any) -> None:
    headers = await api.auth()
    signed = await _sign(api, headers, revocable=True)
    assert signed["encoded"].startswith("CSC:/1/")
    decoded = signed["decoded"]
    assert decoded["iss"] == OWN_DID and decoded["jti"] == signed["id"]
    assert {k: decoded[k] for k in COURSE} == COURSE
    assert decoded["status"]["url"].startswith("https://issuer.example/v2/credentials/compact/revocation-lists/")
    claims = await verify_with_python_cwt(api.http, signed["encoded"])
    assert claims[5] == COURSE["nbf"] and claims[-65539] == "Course Credential" and 4 not in claims
    assert (await _verify(api, headers, signed["encoded"])) == {"verified": True, "decoded": decoded}
    status = await api.http.get(f"/v2/credentials/compact/{signed['id']}/revocation-status", headers=headers)
    assert status.json() == {"id": signed["id"], "isRevoked": False}
    issued_revoked = await _sign(api, headers, revocable=True, isRevoked=True)
    result = await _verify(api, headers, issued_revoked["encoded"])
    assert result["verified"] is False and result["error"]["type"] == "Revoked"
    plain = await _sign(api, headers)
    assert "status" not in plain["decoded"]  # /sign defaults to revocable: false


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"payload": {"iss": "did:web:elsewhere.example"}}, "payload.iss"),
        ({"payload": {"nested": {"a": 1}}}, "payload.nested"),
        ({"payload": {"nbf": 10, "exp": 5}}, "payload.exp"),
        ({"payload": {"exp": "tomorrow"}}, "payload.exp"),
        ({"payload": {"jti": "mine"}}, "payload.jti"),
        ({"payload": {}, "isRevoked": True}, "isRevoked"),
        ({"payload": "not an object"}, "payload"),
        ({}, "payload"),
    ],
)
async def test_sign_refuses_bad_input_with_details(api: Any, body: dict[str, Any], param: str) -> None:
    response = await api.http.post(SIGN, headers=await api.auth(), json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "BadRequest"
    assert param in {detail["param"] for detail in response.json()["details"]}


async def test_verify_fails_each_broken_credential_with_its_reason(api: Any, clock: Any, external: Any) -> None:
    headers = await api.auth()
    good = (await _sign(api, headers, payload={**COURSE, "exp": int(clock.now().timestamp()) + 60}))["encoded"]

    async def reason(payload: str, **options: Any) -> str:
        result = await _verify(api, headers, payload, **options)
        assert result["verified"] is False, result
        return str(result["error"]["type"])

    assert await reason("CSS:/1/" + good.removeprefix("CSC:/1/")) == "PayloadInvalid"  # wrong prefix
    assert await reason(good[:20] + "1" + good[21:]) == "PayloadInvalid"  # not base32
    assert await reason(good.lower()) == "PayloadInvalid"
    assert await reason("CSC:/1/" + base64.b32encode(b"not cbor").decode().rstrip("=")) == "PayloadInvalid"

    def tamper(array: list[Any]) -> None:
        claims = cbor2.loads(array[2])
        claims["name"] = "Someone Else"
        array[2] = cbor2.dumps(claims)

    assert await reason(_reencode(good, tamper)) == "SignatureInvalid"

    def unknown_kid(array: list[Any]) -> None:
        array[0] = cbor2.dumps({1: -7, 4: b"nokey000"})

    assert await reason(_reencode(good, unknown_kid)) == "IssuerPublicKeyInvalid"

    def es384(array: list[Any]) -> None:
        array[0] = cbor2.dumps({1: -35, 4: cbor2.loads(array[0])[4]})

    assert await reason(_reencode(good, es384)) == "UnsupportedAlgorithm"
    clock.advance(minutes=2)  # within the management token's lifetime
    assert await reason(good) == "Expired"
    assert (await _verify(api, headers, good, assertValidUntil=False))["verified"] is True
    future = (await _sign(api, headers, payload={"nbf": int(clock.now().timestamp()) + 600}))["encoded"]
    assert await reason(future) == "NotActive"
    assert (await _verify(api, headers, future, assertValidFrom=False))["verified"] is True
    assert await reason(good, trustedIssuers=["did:web:other.example"]) == "IssuerNotTrusted"
    foreign = external.credential()
    assert await reason(foreign) == "IssuerNotTrusted"  # not this tenant, and not listed: never fetched
    closed = f"did:web:127.0.0.1%3A{free_port()}"
    unreachable = ExternalIssuer(0).credential({1: closed})
    assert await reason(unreachable, trustedIssuers=[closed]) == "IssuerNotResolvable"
    missing = ExternalIssuer(0).credential({1: external.did.replace("%3A", "%3A1")})
    assert await reason(missing, trustedIssuers=[external.did.replace("%3A", "%3A1")]) == "IssuerNotResolvable"
    del external.responses["/.well-known/did.json"]
    assert await reason(foreign, trustedIssuers=[external.did]) == "IssuerNotResolvable"


@pytest.mark.parametrize(
    "body", [{}, {"payload": 5}, {"payload": ""}, {"payload": "CSC:/1/AA", "trustedIssuers": "x"}, [1, 2]]
)
async def test_verify_refuses_a_malformed_request_with_details(api: Any, body: Any) -> None:
    response = await api.http.post(VERIFY, headers=await api.auth(), json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "BadRequest" and response.json()["details"]


async def test_a_trusted_external_issuer_is_resolved_over_http_with_its_revocation_list(
    api: Any, clock: Any, external: ExternalIssuer
) -> None:
    headers = await api.auth()
    trusted = [external.did]
    plain = external.credential()
    result = await _verify(api, headers, plain, trustedIssuers=trusted)
    assert result == {
        "verified": True,
        "decoded": {"iss": external.did, "type": "External", "name": "Ext", "jti": "AQEBAQEBAQEBAQEBAQEBAQ"},
    }
    revocable = external.credential({-65537: {2: 12, 3: external.list_url}})
    exp = int(clock.now().timestamp()) + 3600
    external.publish_revocation_list([11, 13], exp=exp)
    assert (await _verify(api, headers, revocable, trustedIssuers=trusted))["verified"] is True
    external.publish_revocation_list([12], exp=exp)
    result = await _verify(api, headers, revocable, trustedIssuers=trusted)
    assert result["verified"] is False and result["error"]["type"] == "Revoked"
    external.publish_revocation_list([12], exp=int(clock.now().timestamp()) - 1)
    result = await _verify(api, headers, revocable, trustedIssuers=trusted)
    assert result["error"]["type"] == "RevocationStatusUnknown"
    del external.responses["/lists/1"]
    result = await _verify(api, headers, revocable, trustedIssuers=trusted)
    assert result["error"]["type"] == "RevocationStatusUnknown"


async def test_the_published_samples_decode_into_the_same_claim_names(api: Any) -> None:
    headers = await api.auth()
    result = await _verify(api, headers, VERIFY_TUTORIAL_SAMPLE)
    assert result["decoded"] == VERIFY_TUTORIAL_DECODED  # the names and the values the reference published
    assert result["error"]["type"] == "IssuerNotTrusted"  # not this tenant's, and never fetched unless trusted
    assert set((await _verify(api, headers, SIGN_API_SAMPLE))["decoded"]) == {"iss", "name", "jti"}
    decoded = (await _verify(api, headers, SAMPLE_APPS_SAMPLE))["decoded"]
    assert set(decoded) == {"iss", "iat", "exp", "name", "alumniOf", "status", "jti"}
    assert (
        decoded["status"]["index"] == 0 and "/core/v2/credentials/compact/revocation-lists/" in decoded["status"]["url"]
    )


def _png_with_qr(api_png: bytes, *, scale_to: int = 600) -> bytes:
    """The QR code pasted into a larger white picture, as a photo or scan of it would be."""
    canvas = Image.new("RGB", (scale_to, scale_to), "white")
    canvas.paste(Image.open(io.BytesIO(api_png)).convert("RGB"), (100, 100))
    output = io.BytesIO()
    canvas.save(output, format="PNG")
    return output.getvalue()


async def test_qrcode_draws_a_png_that_verifies_from_an_image_and_a_pdf(api: Any) -> None:
    headers = await api.auth()
    signed = await _sign(api, headers, revocable=True)
    drawn = await api.http.post(QRCODE, headers=headers, json={"payload": signed["encoded"], "width": 400})
    assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(drawn.content)).size == (400, 400)
    picture = _png_with_qr(drawn.content)
    pdf = io.BytesIO()
    Image.open(io.BytesIO(picture)).convert("RGB").save(pdf, format="PDF")
    for name, data, media_type in (("qr.png", picture, "image/png"), ("card.pdf", pdf.getvalue(), "application/pdf")):
        response = await api.http.post(VERIFY, headers=headers, files={"file": (name, data, media_type)})
        assert response.status_code == 200, response.text
        assert response.json() == {"verified": True, "decoded": signed["decoded"]}
    options = {"checkRevocation": "false", "trustedIssuers": '["did:web:other.example"]'}
    response = await api.http.post(VERIFY, headers=headers, files={"file": ("qr.png", picture)}, data=options)
    assert response.json()["error"]["type"] == "IssuerNotTrusted"


async def test_qrcode_and_file_verification_refuse_bad_input(api: Any) -> None:
    headers = await api.auth()
    blank = io.BytesIO()
    Image.new("L", (200, 200), "white").save(blank, format="PNG")
    cases = [
        (QRCODE, {"json": {"payload": "not a credential"}}, 400),
        (QRCODE, {"json": {"payload": "CSC:/1/AA", "width": 5}}, 400),
        (VERIFY, {"files": {"file": ("x.txt", b"hello")}}, 400),
        (VERIFY, {"files": {"file": ("x.pdf", b"%PDF-1.4 broken")}}, 400),
        (VERIFY, {"files": {"file": ("blank.png", blank.getvalue())}}, 400),
        (VERIFY, {"files": {"other": ("x.png", b"x")}}, 400),
        (VERIFY, {"files": {"file": ("big.png", b"\0" * 1_020_000)}}, 413),
    ]
    for path, arguments, status in cases:
        response = await api.http.post(path, headers=headers, **arguments)
        assert response.status_code == status, (path, arguments.keys(), response.text)
        assert response.json()["code"] in {"BadRequest", "PayloadTooLarge"} and response.json()["details"]
    huge = await api.http.post(VERIFY, headers=headers, files={"file": ("huge.png", b"\0" * 1_100_000)})
    assert huge.status_code == 413  # past the 1 MiB every request body is held to


async def test_the_direct_apis_need_a_permitted_role(api: Any) -> None:
    headers = await api.auth()
    created = await api.http.post("/v1/api-clients", headers=headers, json={"name": "audit", "roles": ["auditor"]})
    auditor = await api.auth(created.json()["clientId"], created.json()["clientSecret"])
    assert (await api.http.post(SIGN, headers=auditor, json={"payload": {}})).status_code == 403
    signed = await _sign(api, headers, revocable=True)
    assert (await _verify(api, auditor, signed["encoded"]))["verified"] is True  # reading is allowed
    status = f"/v2/credentials/compact/{signed['id']}/revocation-status"
    assert (await api.http.post(status, headers=auditor, json={"isRevoked": True})).status_code == 403
    assert (await api.http.post(SIGN, json={"payload": {}})).status_code == 401


async def test_another_tenant_can_neither_revoke_nor_read_a_tenants_credentials_and_lists(api: Any) -> None:
    headers = await api.auth()
    signed = await _sign(api, headers, revocable=True)
    other = await api.container.tenant_admin.create("Other", "https://other.example")
    other_headers = await api.auth(other.admin_client.client_id, other.admin_client_secret)
    path = f"/v2/credentials/compact/{signed['id']}/revocation-status"
    assert (await api.http.post(path, headers=other_headers, json={"isRevoked": True})).status_code == 404
    assert (await api.http.get(path, headers=other_headers)).status_code == 404
    list_path = signed["decoded"]["status"]["url"].removeprefix("https://issuer.example")
    assert (await api.http.get("https://other.example" + list_path)).status_code == 404
    assert (await api.http.get(list_path)).status_code == 200
    lists = await api.http.get("/v2/credentials/compact/revocation-lists", headers=other_headers)
    assert lists.json() == {"data": []}
    result = await _verify(api, other_headers, signed["encoded"])
    assert result["error"]["type"] == "IssuerNotTrusted"  # the other tenant's DID is not this one's
    assert (await _verify(api, headers, signed["encoded"]))["verified"] is True


async def test_cwt_configurations_follow_the_reference_rules(api: Any) -> None:
    headers = await api.auth()
    path = "/v2/credentials/compact/configurations"
    body = {"type": "Course Credential", "claimMappings": {"name": {"mapFrom": "claims.name"}}}
    created = await api.http.post(path, headers=headers, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["revocable"] is True and "expiresIn" not in created.json()
    assert (await api.http.post(path, headers=headers, json=body)).status_code == 409
    refused = await api.http.post(
        path,
        headers=headers,
        json={
            "type": "VerifiableCredential",
            "claimMappings": {"iss": {"defaultValue": "x"}, "tags": {"defaultValue": ["a"]}},
            "pdfTemplateId": "not-a-uuid",
            "expiresIn": {"days": 0},
        },
    )
    assert refused.status_code == 400
    assert {d["param"] for d in refused.json()["details"]} == {
        "type",
        "claimMappings.iss",
        "claimMappings.tags.defaultValue",
        "pdfTemplateId",
        "expiresIn",
    }
    listed = await api.http.get(path, headers=headers, params={"type": "Course Credential"})
    assert [c["id"] for c in listed.json()["data"]] == [created.json()["id"]]
