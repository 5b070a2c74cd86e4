"""The receiver example in docs/webhooks.md verifies what openissuer signs, and rejects what it must."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from openissuer.adapters.keys.ed25519 import SoftwareEd25519Signer
from openissuer.crypto.http_signatures import sign_http_request
from openissuer.domain.events import EVENT_KINDS
from openissuer.domain.webhooks import WebhookEventType
from openissuer.protocol.webhooks import create_delivery_headers, encode_envelope

DOCS = Path(__file__).resolve().parents[2] / "docs"
URL = "https://hooks.example.com/openissuer"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver", DOCS / "examples" / "webhook_receiver.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _delivery(signer: SoftwareEd25519Signer, created: int) -> tuple[dict[str, str], bytes]:
    envelope = {
        "deliveryId": "d",
        "deliveryTimestamp": "t",
        "webhookId": "w1",
        "event": {"id": "e", "type": "T", "payload": {}, "timestamp": "t"},
    }
    body = encode_envelope(envelope)
    headers = sign_http_request("POST", URL, create_delivery_headers("w1", "T"), body, signer, created=created)
    return headers, body


@pytest.mark.parametrize("tamper", [None, "body", "url", "webhook", "old", "key"])
def test_the_example_receiver_verifies_deliveries(tamper: str | None) -> None:
    example = _example()
    signer = SoftwareEd25519Signer.generate()
    now = int(time.time())
    headers, body = _delivery(signer, now - (1000 if tamper == "old" else 0))
    jwks: dict[str, Any] = {"keys": [{**signer.public_jwk, "kid": signer.kid}]}
    url = URL
    if tamper == "body":
        body = body.replace(b'"e"', b'"f"')
    elif tamper == "url":
        url = URL + "/other"
    elif tamper == "webhook":
        headers["x-mattr-webhook-id"] = "w2"
    elif tamper == "key":
        jwks = {"keys": [{**SoftwareEd25519Signer.generate().public_jwk, "kid": signer.kid}]}
    if tamper is None:
        assert example.verify_delivery("POST", url, headers, body, jwks, now)["event"]["id"] == "e"
    else:
        with pytest.raises(example.Rejected):
            example.verify_delivery("POST", url, headers, body, jwks, now)


def test_the_docs_list_every_event_type_and_webhook_event() -> None:
    events, webhooks = (DOCS / "events.md").read_text(), (DOCS / "webhooks.md").read_text()
    assert [t for t in EVENT_KINDS if f"`{t}`" not in events] == []
    assert [t.value for t in WebhookEventType if f"`{t.value}`" not in webhooks] == []
