"""The format registry: which credential formats this deployment issues, found by format id or profile.

Built once by ``bootstrap`` from the format plugins; everything else asks it instead of naming a format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from openissuer.formats.base import CredentialFormat


class UnknownFormatError(LookupError):
    """No registered format has this id or profile."""


class FormatRegistry:
    """The registered formats, each unique by ``format_id`` and by ``profile``."""

    def __init__(self, formats: Iterable[CredentialFormat]) -> None:
        self._by_id: dict[str, CredentialFormat] = {}
        self._by_profile: dict[str, CredentialFormat] = {}
        for credential_format in formats:
            if credential_format.format_id in self._by_id:
                raise ValueError(f"format {credential_format.format_id!r} is registered twice")
            if credential_format.profile in self._by_profile:
                raise ValueError(f"profile {credential_format.profile!r} is registered twice")
            self._by_id[credential_format.format_id] = credential_format
            self._by_profile[credential_format.profile] = credential_format

    def get(self, format_id: str) -> CredentialFormat:
        """Return the format with this OID4VCI ``format`` identifier; UnknownFormatError otherwise."""
        try:
            return self._by_id[format_id]
        except KeyError:
            raise UnknownFormatError(f"no format {format_id!r} is registered") from None

    def by_profile(self, profile: str) -> CredentialFormat:
        """Return the format whose management API profile is ``profile``; UnknownFormatError otherwise."""
        try:
            return self._by_profile[profile]
        except KeyError:
            raise UnknownFormatError(f"no format has the profile {profile!r}") from None

    def __iter__(self) -> Iterator[CredentialFormat]:
        return iter(self._by_id.values())

    def __contains__(self, format_id: object) -> bool:
        return format_id in self._by_id
