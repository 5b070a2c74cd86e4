"""Assembled CBOR (formats/mso_mdoc/encoded_cbor.py and its users) is byte for byte what cbor2 writes."""

from __future__ import annotations

import random
import struct
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import pytest

from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.crypto.cose import create_cose_sign1
from openissuer.formats.base import HolderKey, RandomBytes, StatusListReference
from openissuer.formats.mso_mdoc.element_values import encode_element_value
from openissuer.formats.mso_mdoc.encoded_cbor import (
    MAJOR_ARRAY,
    MAJOR_MAP,
    encode_byte_string,
    encode_embedded_cbor,
    encode_head,
    encode_name,
    encode_text,
    encode_unsigned,
    new_cbor_encoder,
)
from openissuer.formats.mso_mdoc.issuer_signed import SignedElement, create_signed_elements, encode_issuer_signed
from openissuer.formats.mso_mdoc.mobile_security_object import encode_mobile_security_object

BOUNDARIES = [0, 1, 23, 24, 255, 256, 65535, 65536, 2**31 - 1, 2**32 - 1, 2**32, 2**64 - 1]
NS, AAMVA = "org.iso.18013.5.1", "org.iso.18013.5.1.aamva"
CLAIMS: dict[str, dict[str, Any]] = {
    NS: {
        "family_name": "Mustermann",
        "given_name": "Ērika ✓",
        "birth_date": date(1971, 9, 1),
        "issue_date": datetime(2024, 1, 15, 8, 30, tzinfo=UTC),
        "portrait": random.Random(0).randbytes(10 * 1024),
        "driving_privileges": [{"vehicle_category_code": "B", "issue_date": date(2010, 5, 1)}],
        "sex": 2,
        "height": 168.5,
        "age_over_18": True,
        "nothing_big": -(2**70),
    },
    AAMVA: {"DHS_compliance": "F"},
}


@pytest.mark.parametrize("value", BOUNDARIES)
def test_unsigned_integers(value: int) -> None:
    assert encode_unsigned(value) == cbor2.dumps(value)


@pytest.mark.parametrize("size", [0, 23, 24, 255, 256, 65535, 65536])
def test_byte_strings_text_and_embedded_items(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    text = ("é" * size)[:size]
    assert encode_byte_string(data) == cbor2.dumps(data)
    assert encode_text(text) == cbor2.dumps(text)
    assert encode_name(text) == encode_text(text)
    assert encode_embedded_cbor(data) == cbor2.dumps(cbor2.CBORTag(24, data))


@pytest.mark.parametrize("count", [0, 23, 24, 300])
def test_array_and_map_heads(count: int) -> None:
    assert encode_head(MAJOR_ARRAY, count) + b"\x01" * count == cbor2.dumps([1] * count)
    assert encode_head(MAJOR_MAP, count) + b"".join(
        encode_unsigned(key) + b"\xf5" for key in range(count)
    ) == cbor2.dumps(dict.fromkeys(range(count), True))


@pytest.mark.parametrize("argument", [-1, 2**64])
def test_heads_refuse_arguments_outside_64_bits(argument: int) -> None:
    with pytest.raises(ValueError):
        encode_head(0, argument)


def test_an_encoder_writes_what_dumps_writes_and_keeps_no_state_between_values() -> None:
    encode = new_cbor_encoder()
    values: list[object] = ["a", 2**70, [1, {"b": b"c"}], cbor2.CBORTag(1004, "2024-01-01"), 1.5, None]
    assert [encode(value) for value in values] == [cbor2.dumps(value) for value in values]
    assert [encode(value) for value in reversed(values)] == [cbor2.dumps(value) for value in reversed(values)]


# Digest IDs at every CBOR head boundary (1, 2 and 4 bytes after the initial byte), then zero salts.
_EDGE_DIGEST_IDS = (0, 23, 24, 255, 256, 65535, 65536, 0x7FFF_FFFF, 1, 1000, 100_000, 7, 300, 70_000, 2, 3)


def _edge_digest_ids() -> RandomBytes:
    """A ``random_bytes`` whose first draw (the digest IDs) gives ``_EDGE_DIGEST_IDS`` and whose next (the salts)
    gives zeros."""
    draws: list[int] = []

    def draw(size: int) -> bytes:
        draws.append(size)
        if len(draws) > 1:
            return bytes(size)
        return b"".join(struct.pack(">I", value) for value in _EDGE_DIGEST_IDS[: size // 4])

    return draw


@pytest.fixture(params=["random", "digest IDs at the head boundaries"])
def elements(request: pytest.FixtureRequest) -> list[SignedElement]:
    if request.param == "random":
        return create_signed_elements(CLAIMS, random.Random(3).randbytes)
    return create_signed_elements(CLAIMS, _edge_digest_ids())


def test_items_are_cbor2s_encoding_of_the_item_map(elements: list[SignedElement]) -> None:
    for element in elements:
        tagged = cbor2.loads(element.item_bytes)
        assert tagged.tag == 24
        decoded = cbor2.loads(tagged.value)
        expected = {
            "digestID": element.digest_id,
            "random": decoded["random"],
            "elementIdentifier": element.identifier,
            "elementValue": encode_element_value(CLAIMS[element.namespace][element.identifier]),
        }
        assert element.item_bytes == cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(expected)))


@pytest.mark.parametrize("status", [None, StatusListReference("https://issuer.example.com/status/1", 70000)])
def test_the_mso_is_cbor2s_encoding_of_the_mso_map(
    elements: list[SignedElement], status: StatusListReference | None
) -> None:
    key = HolderKey.from_jwk(SoftwareSigner.generate().public_jwk)
    signed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    mso: dict[str, Any] = {
        "version": "1.0",
        "digestAlgorithm": "SHA-256",
        "valueDigests": {
            NS: {e.digest_id: e.digest for e in elements if e.namespace == NS},
            AAMVA: {e.digest_id: e.digest for e in elements if e.namespace == AAMVA},
        },
        "deviceKeyInfo": {"deviceKey": key.cose_key},
        "docType": "org.iso.18013.5.1.mDL",
        "validityInfo": {
            "signed": cbor2.CBORTag(0, "2026-01-02T03:04:05Z"),
            "validFrom": cbor2.CBORTag(0, "2026-01-02T03:04:05Z"),
            "validUntil": cbor2.CBORTag(0, "2027-01-02T03:04:05Z"),
        },
    }
    if status is not None:
        mso["status"] = {"status_list": {"idx": status.idx, "uri": status.uri}}
    encoded = encode_mobile_security_object(
        elements,
        device_key=key,
        doc_type="org.iso.18013.5.1.mDL",
        signed=signed,
        valid_from=signed,
        valid_until=signed + timedelta(days=365),
        status=status,
    )
    assert encoded == cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(mso)))


def test_issuer_signed_is_cbor2s_encoding_of_the_issuer_signed_map(elements: list[SignedElement]) -> None:
    issuer_auth = create_cose_sign1(b"payload", SoftwareSigner.generate().with_x5c([b"certificate"]))
    name_spaces: dict[str, list[cbor2.CBORTag]] = {}
    for element in elements:
        name_spaces.setdefault(element.namespace, []).append(cbor2.loads(element.item_bytes))
    expected = {"nameSpaces": name_spaces, "issuerAuth": issuer_auth.to_array()}
    assert encode_issuer_signed(elements, issuer_auth) == cbor2.dumps(expected)
