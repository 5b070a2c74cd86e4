"""parse_claim_mappings: the accepted shapes, the parsed model, and one precise detail per shape error."""

from __future__ import annotations

from datetime import date

import pytest

from openissuer.claims import MISSING, ClaimMapping, ClaimType, parse_claim_mappings
from openissuer.errors import ErrorDetail, ValidationError

_NS = "org.iso.18013.5.1"


def test_parse_namespaced_mappings_in_order() -> None:
    raw = {
        _NS: {
            "given_name": {"mapFrom": "claims.given_name", "required": True, "type": "string"},
            "birth_date": {"mapFrom": "claims['date of birth']", "type": "date", "defaultValue": "1900-01-01"},
        },
        "org.example.1": {"badge": {"defaultValue": "gold"}},
    }
    parsed = parse_claim_mappings(raw)
    assert parsed.mappings == (
        ClaimMapping(_NS, "given_name", ("claims", "given_name"), ClaimType.STRING, True, MISSING),
        ClaimMapping(_NS, "birth_date", ("claims", "date of birth"), ClaimType.DATE, False, date(1900, 1, 1)),
        ClaimMapping("org.example.1", "badge", None, None, False, "gold"),
    )


def test_parse_flat_mappings_use_namespace_none() -> None:
    raw = {
        "firstName": {"mapFrom": "claims.given_name", "required": True},
        "providerSubjectId": {"mapFrom": "authenticationProvider.subjectId"},
        "credentialType": {"mapFrom": "credentialConfiguration.type"},
    }
    parsed = parse_claim_mappings(raw, namespaced=False)
    assert [(m.namespace, m.claim, m.map_from) for m in parsed.mappings] == [
        (None, "firstName", ("claims", "given_name")),
        (None, "providerSubjectId", ("authenticationProvider", "subjectId")),
        (None, "credentialType", ("credentialConfiguration", "type")),
    ]
    assert parsed.mappings[0].required is True
    assert parsed.mappings[1].required is False


def test_parse_empty_mappings() -> None:
    assert parse_claim_mappings({}).mappings == ()
    assert parse_claim_mappings({}, namespaced=False).mappings == ()


def test_default_value_is_coerced_at_parse_time() -> None:
    (mapping,) = parse_claim_mappings({"age": {"defaultValue": "18", "type": "number"}}, namespaced=False).mappings
    assert mapping.default_value == 18


def _details(raw: object, *, namespaced: bool = True) -> list[ErrorDetail]:
    with pytest.raises(ValidationError) as caught:
        parse_claim_mappings(raw, namespaced=namespaced)
    assert caught.value.code == "BadRequest"
    assert all(detail.location == "body" for detail in caught.value.details)
    return list(caught.value.details)


def _single(raw: object, *, namespaced: bool = True) -> ErrorDetail:
    (detail,) = _details(raw, namespaced=namespaced)
    return detail


_P = f"claimMappings.{_NS}.given_name"


@pytest.mark.parametrize(
    ("entry", "param", "msg_part", "value"),
    [
        ({"mapFrom": 42}, f"{_P}.mapFrom", "must be a string", 42),
        ({"mapFrom": None}, f"{_P}.mapFrom", "must be a string", None),
        ({"mapFrom": "claims..x"}, f"{_P}.mapFrom", "position 7: empty segment", "claims..x"),
        ({"mapFrom": "claims['x"}, f"{_P}.mapFrom", "unterminated quoted key", "claims['x"),
        ({"mapFrom": "claims.a[x]"}, f"{_P}.mapFrom", "bad index", "claims.a[x]"),
        ({"mapFrom": "user.given_name"}, f"{_P}.mapFrom", "must start with one of", "user.given_name"),
        ({"mapFrom": "claims.x", "type": "text"}, f"{_P}.type", "must be one of string, number", "text"),
        ({"mapFrom": "claims.x", "type": None}, f"{_P}.type", "must be one of", None),
        ({"mapFrom": "claims.x", "required": "yes"}, f"{_P}.required", "must be a boolean", "yes"),
        ({"mapFrom": "claims.x", "defaultValue": None}, f"{_P}.defaultValue", "must not be null", None),
        ({"defaultValue": "soon", "type": "dateTime"}, f"{_P}.defaultValue", "cannot be coerced to dateTime", "soon"),
        ({"defaultValue": 1, "type": "boolean"}, f"{_P}.defaultValue", "cannot be coerced to boolean", 1),
        ({"mapFrom": "claims.x", "mapfrom": "claims.y"}, f"{_P}.mapfrom", "unknown field", "claims.y"),
        ({"value": "gold"}, f"{_P}.value", "static claim is written as {defaultValue}", "gold"),
        ({"required": True, "type": "string"}, _P, "needs mapFrom, defaultValue or both", None),
        ("claims.given_name", _P, "must be an object", "claims.given_name"),
    ],
)
def test_entry_shape_errors_name_the_field(entry: object, param: str, msg_part: str, value: object) -> None:
    details = _details({_NS: {"given_name": entry}})
    matching = [detail for detail in details if detail.param == param]
    assert len(matching) == 1, details
    assert msg_part in matching[0].msg
    if value is not None:
        assert matching[0].value == value


def test_static_value_field_is_rejected_with_both_details() -> None:
    details = _details({_NS: {"given_name": {"value": "gold"}}})
    assert {detail.param for detail in details} == {f"{_P}.value", _P}


def test_claim_mappings_must_be_an_object() -> None:
    detail = _single(["not", "an", "object"])
    assert (detail.param, detail.msg) == ("claimMappings", "must be an object")


@pytest.mark.parametrize("entries", [{}, [], "x", None])
def test_namespace_must_map_at_least_one_claim(entries: object) -> None:
    detail = _single({_NS: entries})
    assert detail.param == f"claimMappings.{_NS}"
    assert "at least one claim" in detail.msg


def test_namespace_and_claim_names_must_be_non_empty() -> None:
    assert _single({"": {"a": {"defaultValue": 1}}}).param == "claimMappings."
    assert _single({_NS: {"": {"defaultValue": 1}}}).msg == "claim name must be a non-empty string"


def test_flat_form_params_have_no_namespace() -> None:
    detail = _single({"firstName": {"mapFrom": "claims.x", "type": "color"}}, namespaced=False)
    assert detail.param == "claimMappings.firstName.type"


def test_flat_form_rejects_a_namespaced_object() -> None:
    details = _details({_NS: {"given_name": {"mapFrom": "claims.given_name"}}}, namespaced=False)
    assert {detail.param for detail in details} == {f"claimMappings.{_NS}.given_name", f"claimMappings.{_NS}"}


def test_every_problem_is_reported_at_once() -> None:
    raw = {
        _NS: {
            "a": {"mapFrom": "claims.", "type": "string"},
            "b": {"mapFrom": "claims.b", "required": 1},
            "c": {"mapFrom": "claims.c", "type": "string"},
        },
        "org.example": {"d": {"defaultValue": "x", "type": "number"}},
    }
    params = [detail.param for detail in _details(raw)]
    assert params == [
        f"claimMappings.{_NS}.a.mapFrom",
        f"claimMappings.{_NS}.b.required",
        "claimMappings.org.example.d.defaultValue",
    ]
