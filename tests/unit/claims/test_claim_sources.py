"""merge_claim_sources: reference §4.4 precedence, shallow merge, null never overrides."""

from __future__ import annotations

from openissuer.claims import merge_claim_sources


def test_later_sources_win_in_reference_order() -> None:
    merged = merge_claim_sources(
        persisted={"a": "persisted", "b": "persisted", "c": "persisted", "d": "persisted", "e": "persisted"},
        offer={"b": "offer", "c": "offer", "d": "offer", "e": "offer"},
        id_token={"c": "id_token", "d": "id_token", "e": "id_token"},
        interaction_hook={"d": "hook", "e": "hook"},
        claims_source={"e": "claims_source"},
    )
    assert merged == {"a": "persisted", "b": "offer", "c": "id_token", "d": "hook", "e": "claims_source"}


def test_merge_is_shallow() -> None:
    merged = merge_claim_sources(
        persisted={"address": {"street": "1 Main St", "city": "Auckland"}},
        claims_source={"address": {"city": "Wellington"}},
    )
    assert merged == {"address": {"city": "Wellington"}}


def test_null_never_overrides_and_is_not_copied() -> None:
    merged = merge_claim_sources(offer={"email": "ada@example.com", "phone": None}, id_token={"email": None})
    assert merged == {"email": "ada@example.com"}


def test_no_sources_give_no_claims_and_inputs_are_not_mutated() -> None:
    offer = {"a": 1}
    assert merge_claim_sources() == {}
    merged = merge_claim_sources(offer=offer, claims_source={"a": 2})
    assert merged == {"a": 2}
    assert offer == {"a": 1}
