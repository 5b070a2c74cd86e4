"""Claims-source request parameters: the declared ones only, from claims.* and credentialConfiguration.*."""

from __future__ import annotations

from typing import Any

import pytest

from openissuer.claims.request_parameters import parse_request_parameters, resolve_request_parameters
from openissuer.errors import ValidationError

CONTEXT = {
    "claims": {"email": "ana@example.com", "address": {"country": "NZ"}, "age": 30, "empty": None},
    "credentialConfiguration": {"id": "c-1", "type": "org.iso.18013.5.1.mDL"},
    "authenticationProvider": {"subjectId": "never sent"},
}


def test_values_come_from_paths_or_defaults_and_missing_ones_are_left_out() -> None:
    parameters = parse_request_parameters(
        {
            "email": {"mapFrom": "claims.email"},
            "country": {"mapFrom": "claims['address'].country"},
            "doctype": {"mapFrom": "credentialConfiguration.type"},
            "age": {"mapFrom": "claims.age"},
            "fallback": {"mapFrom": "claims.nickname", "defaultValue": "none"},
            "null_falls_back": {"mapFrom": "claims.empty", "defaultValue": 0},
            "static": {"defaultValue": {"v": [1]}},
            "absent": {"mapFrom": "claims.nickname"},
        }
    )
    assert resolve_request_parameters(parameters, CONTEXT) == {
        "email": "ana@example.com",
        "country": "NZ",
        "doctype": "org.iso.18013.5.1.mDL",
        "age": 30,
        "fallback": "none",
        "null_falls_back": 0,
        "static": {"v": [1]},
    }


def test_resolved_defaults_are_copies() -> None:
    parameters = parse_request_parameters({"static": {"defaultValue": {"v": [1]}}})
    resolve_request_parameters(parameters, CONTEXT)["static"]["v"].append(2)
    assert resolve_request_parameters(parameters, CONTEXT) == {"static": {"v": [1]}}


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ([], "requestParameters"),
        ({"p": "claims.email"}, "requestParameters.p"),
        ({"p": {}}, "requestParameters.p"),
        ({"p": {"mapFrom": "authenticationProvider.subjectId"}}, "requestParameters.p.mapFrom"),
        ({"p": {"mapFrom": "claims..x"}}, "requestParameters.p.mapFrom"),
        ({"p": {"mapFrom": 3}}, "requestParameters.p.mapFrom"),
        ({"p": {"defaultValue": None}}, "requestParameters.p.defaultValue"),
        ({"p": {"mapFrom": "claims.a", "type": "string"}}, "requestParameters.p.type"),
        ({"": {"defaultValue": 1}}, "requestParameters."),
        ({f"p{i}": {"defaultValue": i} for i in range(101)}, "requestParameters"),
    ],
)
def test_malformed_parameters_are_refused_naming_the_field(raw: Any, param: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_request_parameters(raw)
    assert param in [d.param for d in raised.value.details]


def test_no_parameters_is_allowed() -> None:
    assert resolve_request_parameters(parse_request_parameters({}), CONTEXT) == {}
