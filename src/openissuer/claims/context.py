"""The context object that ``mapFrom`` paths are resolved against (the reference's "user object", §4.1/§4.4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CONTEXT_ROOTS = frozenset({"claims", "authenticationProvider", "credentialConfiguration"})
"""The top-level keys of the context; a ``mapFrom`` path must start with one of them."""


@dataclass(frozen=True)
class AuthenticatedSubject:
    """Who the upstream authentication provider (IdP) said the holder is: its ``url`` and the ``sub`` it gave."""

    url: str
    subject_id: str


@dataclass(frozen=True)
class ClaimsContext:
    """Everything a mapping may read: the merged claims, the IdP subject, the credential configuration.

    ``authentication_provider`` is ``None`` in the Pre-authorized Code flow, where no IdP took part; paths into
    ``authenticationProvider`` then resolve to missing. ``credential_configuration`` is the configuration's wire
    form (e.g. ``{"type": "org.iso.18013.5.1.mDL", ...}``), readable as ``credentialConfiguration.type``.
    """

    claims: Mapping[str, Any]
    authentication_provider: AuthenticatedSubject | None = None
    credential_configuration: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Build the plain dict paths resolve against: ``{claims, authenticationProvider, credentialConfiguration}``.

        Reference §4.4: ``ctx = {"claims": claims, "authenticationProvider": {"url": …, "subjectId": …}}``.
        """
        context: dict[str, Any] = {
            "claims": self.claims,
            "credentialConfiguration": self.credential_configuration,
        }
        if self.authentication_provider is not None:
            context["authenticationProvider"] = {
                "url": self.authentication_provider.url,
                "subjectId": self.authentication_provider.subject_id,
            }
        return context
