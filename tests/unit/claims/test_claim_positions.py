"""Claim names that are positions (``claim_paths``), per-claim flags and display: the general extensions a nested
format (SD-JWT VC) switches on."""

from __future__ import annotations

from typing import Any

import pytest

from openissuer.claims import (
    ClaimLabel,
    ClaimPathSyntaxError,
    apply_claim_mappings,
    format_claim_path,
    parse_claim_mappings,
    parse_claim_path,
    parse_claim_pointer,
)
from openissuer.errors import ValidationError

SD = "selectivelyDisclosable"


def _parse(raw: dict[str, Any]) -> Any:
    return parse_claim_mappings(raw, namespaced=False, claim_paths=True, flags={SD})


def _problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        _parse(raw)
    return {detail.param: detail.msg for detail in caught.value.details}


def test_a_claim_pointer_reads_the_mapfrom_grammar_plus_every_element() -> None:
    assert parse_claim_pointer("address.locality") == ("address", "locality")
    assert parse_claim_pointer("degrees[1].type") == ("degrees", 1, "type")
    assert parse_claim_pointer("nationalities[*]") == ("nationalities", None)
    assert parse_claim_pointer("a['x.y']") == ("a", "x.y")
    assert format_claim_path(("nationalities", None)) == "nationalities[*]"
    with pytest.raises(ClaimPathSyntaxError):
        parse_claim_path("claims.nationalities[*]")  # mapFrom paths have no wildcard
    with pytest.raises(ClaimPathSyntaxError):
        parse_claim_pointer("[*].a")


def test_positions_flags_and_display_are_parsed() -> None:
    parsed = _parse(
        {
            "given_name": {"mapFrom": "claims.given_name", SD: False, "display": [{"name": "Name", "locale": "en"}]},
            "address": {SD: True},
            "address.locality": {"mapFrom": "claims.city"},
            "nationalities": {"mapFrom": "claims.nationalities", "type": "array"},
            "nationalities[*]": {SD: True},
        }
    )
    by_name = {m.claim: m for m in parsed.mappings}
    assert by_name["given_name"].pointer == ("given_name",)
    assert by_name["given_name"].flag(SD) is False
    assert by_name["given_name"].display == (ClaimLabel("Name", "en"),)
    assert by_name["address"].is_flag_entry and by_name["address"].flag(SD) is True
    assert by_name["address.locality"].pointer == ("address", "locality")
    assert by_name["address.locality"].flag(SD) is None
    assert by_name["nationalities[*]"].pointer == ("nationalities", None)


def test_values_are_placed_at_their_positions_and_arrays_close_up() -> None:
    mappings = _parse(
        {
            "given_name": {"mapFrom": "claims.given_name"},
            "address.locality": {"mapFrom": "claims.city"},
            "address.country": {"defaultValue": "NZ"},
            "address": {SD: True},
            "degrees[0].type": {"mapFrom": "claims.first"},
            "degrees[1].type": {"mapFrom": "claims.second"},
            "degrees[2].type": {"mapFrom": "claims.third"},
            "tags[*]": {SD: True},
            "tags": {"mapFrom": "claims.tags", "type": "array"},
        }
    )
    claims = {"given_name": "Ana", "city": "Wellington", "first": "BSc", "third": "PhD", "tags": ["a", "b"]}
    assert apply_claim_mappings(mappings, {"claims": claims}) == {
        "given_name": "Ana",
        "address": {"locality": "Wellington", "country": "NZ"},
        "degrees": [{"type": "BSc"}, {"type": "PhD"}],  # the missing second element closes up
        "tags": ["a", "b"],
    }
    # A container none of whose claims has a value does not appear.
    assert apply_claim_mappings(mappings, {"claims": {"given_name": "Ana"}}) == {
        "given_name": "Ana",
        "address": {"country": "NZ"},
    }


def test_flat_names_stay_names_without_claim_paths() -> None:
    (mapping,) = parse_claim_mappings({"a.b": {"mapFrom": "claims.x"}}, namespaced=False).mappings
    assert mapping.pointer == ("a.b",)
    assert apply_claim_mappings(
        parse_claim_mappings({"a.b": {"mapFrom": "claims.x"}}, namespaced=False), {"claims": {"x": 1}}
    ) == {"a.b": 1}


def test_structure_rules() -> None:
    assert _problems({"a": {"mapFrom": "claims.a"}, "a.b": {"mapFrom": "claims.b"}}) == {
        "claimMappings.a.b": "is inside a, which is mapped as a whole"
    }
    assert "claimMappings.a['b']" in _problems({"a.b": {"mapFrom": "claims.b"}, "a['b']": {"mapFrom": "claims.c"}})
    assert _problems({"a.b": {"mapFrom": "claims.b"}, "a[0]": {"mapFrom": "claims.c"}}) == {
        "claimMappings.a": "is used as an object and as an array"
    }
    assert _problems({"a[1]": {"mapFrom": "claims.b"}}) == {
        "claimMappings.a": "array positions must be numbered from 0 without gaps"
    }
    assert _problems({"a[*]": {SD: True}, "a[0]": {"mapFrom": "claims.b"}}) == {
        "claimMappings.a": "mixes [*] with array positions"
    }
    assert "claimMappings.a[*]" in _problems({"a[*]": {"mapFrom": "claims.a"}})
    assert "claimMappings.a" in _problems({"a": {}})  # neither a value nor a flag
    assert "claimMappings.a" in _problems({"a": {SD: True, "required": True}})  # required needs a value
    assert "claimMappings.a.b]" in _problems({"a.b]": {"mapFrom": "claims.a"}})
    assert _problems({"a": {"mapFrom": "claims.a", SD: "yes"}}) == {f"claimMappings.a.{SD}": "must be a boolean"}
    bad_display = _problems({"a": {"mapFrom": "claims.a", "display": [{"name": ""}]}})
    assert set(bad_display) == {"claimMappings.a.display"}
    twice = _problems({"a": {"mapFrom": "claims.a", "display": [{"name": "A"}, {"name": "B"}]}})
    assert twice == {"claimMappings.a.display": "has more than one name for a locale"}


def test_flags_are_unknown_fields_to_a_format_without_them() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_claim_mappings({"ns": {"a": {"mapFrom": "claims.a", SD: True}}})
    assert [d.param for d in caught.value.details] == [f"claimMappings.ns.a.{SD}"]
