"""apply_claim_mappings: every mapping kind, every type end to end, the context object, and failures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from openissuer.claims import (
    MISSING,
    AuthenticatedSubject,
    ClaimMappings,
    ClaimsContext,
    apply_claim_mappings,
    parse_claim_mappings,
    resolve_claim_mapping,
)
from openissuer.errors import ClaimMappingError

_NS = "org.iso.18013.5.1"
_CLAIMS: dict[str, Any] = {
    "given_name": "Ada",
    "family_name": None,
    "date of birth": "1990-05-17T00:00:00+10:00",
    "address": {"formatted": "1 Main St", "country": "NZ"},
    "emails": ["ada@example.com", "lovelace@example.com"],
    "age": "34",
    "over_18": "true",
    "portrait": "data:image/jpeg;base64,/9j/4A==",
    "secret_code": "Zebra#7391",
}
_CONTEXT = ClaimsContext(
    claims=_CLAIMS,
    authentication_provider=AuthenticatedSubject(url="https://idp.example.com", subject_id="sub-123"),
    credential_configuration={"type": "org.iso.18013.5.1.mDL"},
)


def _apply(raw: dict[str, Any], *, namespaced: bool = True, context: Any = _CONTEXT) -> dict[str, Any]:
    return apply_claim_mappings(parse_claim_mappings(raw, namespaced=namespaced), context)


def test_context_builds_the_plain_dict_paths_resolve_against() -> None:
    assert _CONTEXT.to_dict() == {
        "claims": _CLAIMS,
        "authenticationProvider": {"url": "https://idp.example.com", "subjectId": "sub-123"},
        "credentialConfiguration": {"type": "org.iso.18013.5.1.mDL"},
    }
    assert "authenticationProvider" not in ClaimsContext(claims={}).to_dict()


def test_every_mapping_kind() -> None:
    result = _apply(
        {
            _NS: {
                "given_name": {"mapFrom": "claims.given_name", "required": True, "type": "string"},
                "street": {"mapFrom": "claims.address.formatted"},
                "nickname": {"mapFrom": "claims.nickname"},
                "email": {"mapFrom": "claims.emails[1]", "defaultValue": "none@example.com"},
                "phone": {"mapFrom": "claims.phone", "defaultValue": "unknown"},
                "issuing_country": {"defaultValue": "NZ"},
                "required_with_default": {"mapFrom": "claims.missing", "required": True, "defaultValue": 0},
            }
        }
    )
    assert result == {
        _NS: {
            "given_name": "Ada",
            "street": "1 Main St",
            "email": "lovelace@example.com",
            "phone": "unknown",
            "issuing_country": "NZ",
            "required_with_default": 0,
        }
    }


def test_every_type_end_to_end() -> None:
    result = _apply(
        {
            "given_name": {"mapFrom": "claims.given_name", "type": "string"},
            "age": {"mapFrom": "claims.age", "type": "number"},
            "over_18": {"mapFrom": "claims.over_18", "type": "boolean"},
            "birth_date": {"mapFrom": "claims['date of birth']", "type": "date"},
            "birth_instant": {"mapFrom": "claims['date of birth']", "type": "dateTime"},
            "portrait": {"mapFrom": "claims.portrait", "type": "bytes"},
            "emails": {"mapFrom": "claims.emails", "type": "array"},
            "address": {"mapFrom": "claims.address", "type": "object"},
            "raw_address": {"mapFrom": "claims.address"},
        },
        namespaced=False,
    )
    assert result["given_name"] == "Ada"
    assert result["age"] == 34
    assert result["over_18"] is True
    assert result["birth_date"] == date(1990, 5, 17)
    assert result["birth_instant"] == datetime(1990, 5, 16, 14, 0, tzinfo=UTC)
    assert result["portrait"] == b"\xff\xd8\xff\xe0"
    assert result["emails"] == ["ada@example.com", "lovelace@example.com"]
    assert result["address"] == {"formatted": "1 Main St", "country": "NZ"}
    assert result["raw_address"] is _CLAIMS["address"]


def test_authentication_provider_and_configuration_paths() -> None:
    result = _apply(
        {
            "sub": {"mapFrom": "authenticationProvider.subjectId", "required": True},
            "idp": {"mapFrom": "authenticationProvider.url"},
            "doctype": {"mapFrom": "credentialConfiguration.type"},
        },
        namespaced=False,
    )
    assert result == {"sub": "sub-123", "idp": "https://idp.example.com", "doctype": "org.iso.18013.5.1.mDL"}


def test_a_plain_mapping_context_is_accepted() -> None:
    assert _apply({"x": {"mapFrom": "claims.x"}}, namespaced=False, context={"claims": {"x": 1}}) == {"x": 1}


def test_null_source_values_count_as_missing() -> None:
    result = _apply(
        {
            _NS: {
                "optional": {"mapFrom": "claims.family_name", "type": "string"},
                "defaulted": {"mapFrom": "claims.family_name", "defaultValue": "-"},
            }
        }
    )
    assert result == {_NS: {"defaulted": "-"}}
    with pytest.raises(ClaimMappingError, match="Required claim 'family_name'"):
        _apply({_NS: {"family_name": {"mapFrom": "claims.family_name", "required": True}}})


def test_a_namespace_whose_claims_are_all_omitted_is_left_out() -> None:
    result = _apply({_NS: {"a": {"mapFrom": "claims.a"}}, "org.example": {"b": {"defaultValue": True}}})
    assert result == {"org.example": {"b": True}}


def test_missing_required_claim_names_namespace_and_claim() -> None:
    with pytest.raises(ClaimMappingError) as caught:
        _apply({_NS: {"document_number": {"mapFrom": "claims.document_number", "required": True}}})
    error = caught.value
    assert (error.namespace, error.claim, error.code, error.status) == (_NS, "document_number", "invalid_claims", 400)
    assert error.description == f"Required claim 'document_number' in namespace '{_NS}' has no value"
    assert error.detail is not None
    assert "claims.document_number" in error.detail


def test_missing_required_flat_claim_has_namespace_none() -> None:
    with pytest.raises(ClaimMappingError) as caught:
        _apply({"firstName": {"mapFrom": "claims.first", "required": True}}, namespaced=False)
    assert (caught.value.namespace, caught.value.claim) == (None, "firstName")
    assert caught.value.description == "Required claim 'firstName' has no value"


def test_missing_authentication_provider_in_pre_authorized_flow() -> None:
    context = ClaimsContext(claims={})
    with pytest.raises(ClaimMappingError):
        _apply(
            {"sub": {"mapFrom": "authenticationProvider.subjectId", "required": True}},
            namespaced=False,
            context=context,
        )


@pytest.mark.parametrize(
    ("claim_type", "reason"),
    [
        ("number", "cannot be coerced to number: the string is not a JSON number"),
        ("boolean", 'cannot be coerced to boolean: the string is neither "true" nor "false"'),
        ("date", "cannot be coerced to date: expected an ISO 8601 full-date"),
        ("dateTime", "cannot be coerced to dateTime: expected an RFC 3339 date-time"),
        ("bytes", "cannot be coerced to bytes: the text is neither base64 nor base64url"),
        ("array", "cannot be coerced to array: expected an array, got string"),
        ("object", "cannot be coerced to object: expected an object, got string"),
    ],
)
def test_uncoercible_value_names_claim_and_reason_but_not_the_value(claim_type: str, reason: str) -> None:
    with pytest.raises(ClaimMappingError) as caught:
        _apply({_NS: {"code": {"mapFrom": "claims.secret_code", "type": claim_type}}})
    error = caught.value
    assert (error.namespace, error.claim) == (_NS, "code")
    assert error.description.startswith(f"The value of claim 'code' in namespace '{_NS}' {reason}")
    assert "Zebra" not in error.description
    assert "Zebra" not in (error.detail or "")
    assert "Zebra" not in str(error.__cause__)


def test_uncoercible_string_type() -> None:
    with pytest.raises(ClaimMappingError, match="cannot be coerced to string: expected a string, got object"):
        _apply({"street": {"mapFrom": "claims.address", "type": "string"}}, namespaced=False)


def test_defaults_are_copied_per_credential() -> None:
    mappings = parse_claim_mappings({"tags": {"defaultValue": ["a"], "type": "array"}}, namespaced=False)
    first = apply_claim_mappings(mappings, _CONTEXT)
    first["tags"].append("mutated")
    assert apply_claim_mappings(mappings, _CONTEXT) == {"tags": ["a"]}


def test_resolve_claim_mapping_returns_missing_for_an_omitted_optional_claim() -> None:
    (mapping,) = parse_claim_mappings({"x": {"mapFrom": "claims.nope"}}, namespaced=False).mappings
    assert resolve_claim_mapping(mapping, _CONTEXT.to_dict()) is MISSING


def test_empty_mappings_produce_no_claims() -> None:
    assert apply_claim_mappings(ClaimMappings(()), _CONTEXT) == {}
