"""Repository protocols: what services may ask of storage. Every query is scoped to a tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from openissuer.domain.api_clients import ApiClient
from openissuer.domain.authorization import (
    AuthenticationProvider,
    AuthorizationCode,
    AuthorizationOffer,
    AuthorizationSession,
    PushedRequest,
    WalletClient,
)
from openissuer.domain.claim_sources import ClaimSource
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.dids import DidKey
from openissuer.domain.interaction_hooks import HookSession, InteractionHook
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.offers import AccessGrant, PreAuthorizedOffer
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import DocumentSigner, Iaca
from openissuer.domain.status_list_configurations import StatusListConfiguration
from openissuer.domain.status_lists import StatusList
from openissuer.domain.tenants import Tenant
from openissuer.domain.users import User, UserSearch
from openissuer.domain.wallet_security import WalletSecurityPolicy


class TenantRepository(Protocol):
    async def add(self, tenant: Tenant) -> None:
        """Store a new tenant; raise ``ConflictError`` when the id exists or another stored tenant's public URL has
        the same host key (``domain.urls.host_of_url``; the default tenant's URL is a setting, not stored)."""

    async def get(self, tenant_id: str) -> Tenant | None:
        """Return the tenant or None."""

    async def list(self, *, limit: int, after: PageKey | None) -> Page[Tenant]:
        """Return one page of every tenant, ordered by ``(created_at, id)``."""

    async def delete(self, tenant_id: str) -> bool:
        """Delete the tenant and everything that belongs to it; tell whether it existed."""

    async def get_config_version(self, tenant_id: str) -> int | None:
        """Return the tenant's configuration version (None for an unknown tenant)."""


class ApiClientRepository(Protocol):
    async def add(self, client: ApiClient) -> None:
        """Store a new client; raise ``ConflictError`` when its ``client_id`` exists (client ids are global)."""

    async def get_by_client_id(self, client_id: str) -> ApiClient | None:
        """Return the client with this ``client_id`` in any tenant (used to authenticate)."""

    async def get(self, tenant_id: str, id: str) -> ApiClient | None:
        """Return the tenant's client with this id or None (another tenant's client is None)."""

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[ApiClient]:
        """Return up to ``limit`` of the tenant's clients ordered by ``(created_at, id)`` after ``after``."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's client; tell whether it existed."""


class CredentialConfigurationRepository(Protocol):
    """Credential configurations of every format; each write also raises the tenant's configuration version."""

    async def add(self, configuration: CredentialConfiguration) -> None:
        """Store a configuration; ``ConflictError`` (param ``type``) when the tenant has one of the same format and
        type."""

    async def get(self, tenant_id: str, id: str) -> CredentialConfiguration | None:
        """Return the tenant's configuration (of any format) or None."""

    async def list(
        self, tenant_id: str, *, format: str, limit: int, after: PageKey | None, credential_type: str | None = None
    ) -> Page[CredentialConfiguration]:
        """Return one page of the tenant's configurations of one format, optionally only those of one type."""

    async def list_all(self, tenant_id: str) -> Sequence[CredentialConfiguration]:
        """Return every configuration of the tenant, of every format, in creation order."""

    async def update(self, configuration: CredentialConfiguration) -> bool:
        """Replace a stored configuration; tell whether it existed; ``ConflictError`` when the type is taken."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's configuration; tell whether it existed."""


class IacaRepository(Protocol):
    """IACAs; each write also raises the tenant's configuration version (signers are chosen under them)."""

    async def add(self, iaca: Iaca) -> None:
        """Store a new IACA."""

    async def get(self, tenant_id: str, id: str) -> Iaca | None:
        """Return the tenant's IACA or None."""

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[Iaca]:
        """Return one page of the tenant's IACAs."""

    async def list_active(self, tenant_id: str) -> Sequence[Iaca]:
        """Return the tenant's active IACAs, newest first."""

    async def count(self, tenant_id: str) -> int:
        """Return how many IACAs the tenant has."""

    async def set_active(self, tenant_id: str, id: str, active: bool) -> Iaca | None:
        """Set an IACA's ``active`` flag; return the updated IACA or None when there is none."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's IACA and its document signers; tell whether it existed."""


class DocumentSignerRepository(Protocol):
    """Document signers; adding one also raises the tenant's configuration version."""

    async def add(self, signer: DocumentSigner) -> None:
        """Store a new document signer."""

    async def list_for_iaca(self, tenant_id: str, iaca_id: str) -> Sequence[DocumentSigner]:
        """Return every signer certified by the IACA, newest first (revoked ones included)."""


class IssuedCredentialRepository(Protocol):
    async def set_status(self, tenant_id: str, id: str, status: str, *, expected: str | None = None) -> bool:
        """Set the status of the tenant's record, only while it is ``expected`` when given; tell whether it was
        set."""

    async def find_by_status_entry(self, tenant_id: str, list_id: str, index: int) -> IssuedCredentialRecord | None:
        """Return the tenant's record at ``index`` of status list ``list_id``, or None."""

    async def add(self, record: IssuedCredentialRecord) -> None:
        """Store the record of an issued credential."""

    async def get(self, tenant_id: str, id: str) -> IssuedCredentialRecord | None:
        """Return the tenant's record or None."""

    async def list(
        self, tenant_id: str, *, limit: int, after: PageKey | None, user_id: str | None = None
    ) -> Page[IssuedCredentialRecord]:
        """Return one page of the tenant's records in issuance order, optionally one user's only."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's record (its status-list entry stays); tell whether it existed."""


class DidKeyRepository(Protocol):
    """The keys of tenants' DID documents; adding one raises the tenant's configuration version."""

    async def add(self, key: DidKey) -> bool:
        """Store a key; False (nothing stored) when the tenant already has a key with its ``kid``."""

    async def list(self, tenant_id: str) -> Sequence[DidKey]:
        """Return the tenant's keys, newest first."""


class StatusListRepository(Protocol):
    """Status lists and the statuses of the credentials on them (management and publication, not allocation)."""

    async def get(self, tenant_id: str, id: str) -> StatusList | None:
        """Return the tenant's list or None."""

    async def list(self, tenant_id: str, kind: str, *, limit: int, after: PageKey | None) -> Page[StatusList]:
        """Return one page of the tenant's lists of a kind, ordered by ``(created_at, id)``."""

    async def indexes_with_status(self, tenant_id: str, list_id: str, status: str) -> Sequence[int]:
        """Return the indexes of the list's entries that have ``status``."""

    async def entries(self, tenant_id: str, list_id: str) -> Mapping[int, str]:
        """Return the status of every entry of the list that is not ``valid`` (the default)."""

    async def entry_status(self, tenant_id: str, list_id: str, index: int) -> str:
        """Return the status of one entry (``valid`` unless set)."""

    async def set_entry(self, tenant_id: str, list_id: str, index: int, status: str) -> None:
        """Set the status of one entry of the tenant's list, in the unit's transaction."""

    async def bump_revision(self, tenant_id: str, id: str) -> None:
        """Raise the list's revision (a status on it changed), in the unit's transaction."""


class StatusListConfigurationRepository(Protocol):
    """The token lifetimes of status lists, one configuration per tenant, profile and credential type."""

    async def add(self, configuration: StatusListConfiguration) -> None:
        """Store a configuration; ``ConflictError`` when its credential type already has one."""

    async def get(self, tenant_id: str, id: str) -> StatusListConfiguration | None:
        """Return the tenant's configuration or None."""

    async def find(self, tenant_id: str, profile: str, credential_type: str) -> StatusListConfiguration | None:
        """Return the configuration of a credential type, or None."""

    async def list(
        self, tenant_id: str, profile: str, *, limit: int, after: PageKey | None
    ) -> Page[StatusListConfiguration]:
        """Return one page of the tenant's configurations of a profile, ordered by ``(created_at, id)``."""

    async def update(self, configuration: StatusListConfiguration) -> bool:
        """Replace the durations of a configuration; tell whether it exists."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a configuration; tell whether it existed."""


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user; ``ConflictError`` when one exists for the same provider and subject."""

    async def get(self, tenant_id: str, id: str) -> User | None:
        """Return the tenant's user or None."""

    async def find_by_subject(self, tenant_id: str, provider_id: str, subject_id: str) -> User | None:
        """Return the user an identity provider knows by ``subject_id``, or None."""

    async def update_claims(self, tenant_id: str, id: str, claims: dict[str, Any], now: datetime) -> bool:
        """Replace the user's persisted claims; tell whether the user exists."""

    async def replace(self, user: User) -> bool:
        """Replace the user's claims and provider subject; tell whether the user exists; ``ConflictError`` when
        another user has the same provider and subject."""

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[User]:
        """Return one page of the tenant's users ordered by ``(created_at, id)``."""

    async def search(self, tenant_id: str, search: UserSearch, *, limit: int, after: PageKey | None) -> Page[User]:
        """Return one page of the tenant's users matching ``search`` exactly (see ``UserSearch``)."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the user and its persisted claims (records of issued credentials stay); tell whether it existed."""


class OfferRepository(Protocol):
    async def add(self, offer: PreAuthorizedOffer) -> None:
        """Store a new pre-authorized offer."""

    async def get(self, tenant_id: str, id: str) -> PreAuthorizedOffer | None:
        """Return the tenant's offer or None."""

    async def revoke(self, tenant_id: str, id: str, now: datetime) -> bool:
        """Revoke the offer if it is neither redeemed nor revoked; tell whether it was."""


class AccessGrantRepository(Protocol):
    async def add(self, grant: AccessGrant) -> None:
        """Store the grant of a new access token (by the token's hash)."""

    async def revoke_for_code(self, code_hash: bytes, now: datetime) -> int:
        """Revoke every token issued from an authorization code (RFC 6749 §4.1.2: on a replayed code)."""


class AuthenticationProviderRepository(Protocol):
    """The tenant's identity provider; each write also raises the tenant's configuration version."""

    async def add(self, provider: AuthenticationProvider) -> None:
        """Store the tenant's provider; ``ConflictError`` when the tenant already has one."""

    async def get(self, tenant_id: str, id: str) -> AuthenticationProvider | None:
        """Return the tenant's provider with this id or None."""

    async def get_for_tenant(self, tenant_id: str) -> AuthenticationProvider | None:
        """Return the tenant's provider, if it has one."""

    async def update(self, provider: AuthenticationProvider) -> bool:
        """Replace the provider's fields; tell whether it exists."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the provider; tell whether it existed."""


class WalletClientRepository(Protocol):
    async def add(self, client: WalletClient) -> None:
        """Store a client; ``ConflictError`` (param ``clientId``) when the tenant has one with this client_id."""

    async def get(self, tenant_id: str, id: str) -> WalletClient | None:
        """Return the tenant's client by id."""

    async def get_by_client_id(self, tenant_id: str, client_id: str) -> WalletClient | None:
        """Return the tenant's client by its OAuth ``client_id``."""

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[WalletClient]:
        """Return one page of the tenant's clients."""

    async def update(self, client: WalletClient) -> bool:
        """Replace a client's fields (not its client_id); tell whether it exists."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a client; tell whether it existed."""


class AuthorizationFlowRepository(Protocol):
    """The short-lived state of the Authorization Code flow; single-use items are taken by conditional UPDATE."""

    async def add_offer(self, offer: AuthorizationOffer) -> None:
        """Store a reusable offer."""

    async def find_offer(self, tenant_id: str, issuer_state: str) -> AuthorizationOffer | None:
        """Return the offer with this ``issuer_state``."""

    async def add_pushed_request(self, request: PushedRequest) -> None:
        """Store a pushed authorization request."""

    async def take_pushed_request(self, tenant_id: str, request_uri_hash: bytes, now: datetime) -> PushedRequest | None:
        """Use up a pushed request if unused and unexpired; return it (None otherwise)."""

    async def add_session(self, session: AuthorizationSession) -> None:
        """Store a sign-in session."""

    async def find_session(self, tenant_id: str, idp_state_hash: bytes) -> AuthorizationSession | None:
        """Return the session of the ``state`` sent to the identity provider."""

    async def complete_session(self, tenant_id: str, id: str, now: datetime) -> bool:
        """Mark the session completed if it is still open and unexpired; tell whether it was."""

    async def add_code(self, code: AuthorizationCode) -> None:
        """Store an authorization code."""

    async def find_code(self, code_hash: bytes) -> AuthorizationCode | None:
        """Return the code with this hash."""

    async def consume_code(self, code_hash: bytes, now: datetime) -> bool:
        """Use the code up if it is unused (one conditional UPDATE); tell whether this call did."""

    async def prune_pushed_requests(self, now: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` pushed requests used or expired at ``now`` (one statement); return how many."""

    async def prune_sessions(self, now: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` sign-in sessions expired at ``now`` (one statement); return how many."""

    async def prune_codes(self, expired_before: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` codes, used or not, that expired before ``expired_before`` (one statement)."""


class ClaimSourceRepository(Protocol):
    """Claims sources; each write also raises the tenant's configuration version (issuance caches them)."""

    async def add(self, source: ClaimSource) -> None:
        """Store a new claims source."""

    async def get(self, tenant_id: str, id: str) -> ClaimSource | None:
        """Return the tenant's claims source or None."""

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[ClaimSource]:
        """Return one page of the tenant's claims sources."""

    async def list_all(self, tenant_id: str) -> Sequence[ClaimSource]:
        """Return every claims source of the tenant."""

    async def update(self, source: ClaimSource) -> bool:
        """Replace a claims source's fields; tell whether it exists."""

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a claims source; tell whether it existed."""

    async def lock(self, tenant_id: str, id: str, *, exclusive: bool) -> bool:
        """Tell whether the source exists, and lock it until this unit of work ends: shared by a configuration
        that is about to reference it, exclusive by a delete that must see every committed reference first (on
        PostgreSQL a row lock; SQLite and memory serialise writers anyway)."""

    async def referencing_configurations(self, tenant_id: str, id: str) -> Sequence[str]:
        """Return the ids of the tenant's credential configurations whose ``claimSourceId`` is ``id``."""


class InteractionHookRepository(Protocol):
    """The tenant's interaction hook (one per tenant) and the holders' visits to it in progress."""

    async def get(self, tenant_id: str) -> InteractionHook | None:
        """Return the tenant's hook, if configured."""

    async def put(self, hook: InteractionHook) -> None:
        """Store the tenant's hook, replacing the one it had."""

    async def delete(self, tenant_id: str) -> bool:
        """Remove the tenant's hook; tell whether it had one."""

    async def add_session(self, session: HookSession) -> None:
        """Store a visit to the hook."""

    async def find_session(self, tenant_id: str, state_hash: bytes) -> HookSession | None:
        """Return the visit of a ``state`` given to the hook."""

    async def take_session(self, tenant_id: str, state_hash: bytes, now: datetime) -> bool:
        """Use the visit up if it is unused and unexpired (one conditional UPDATE); tell whether this call did."""

    async def prune_sessions(self, now: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` visits used or expired at ``now`` (one statement); return how many."""


class WalletSecurityRepository(Protocol):
    async def get(self, tenant_id: str) -> WalletSecurityPolicy | None:
        """Return the tenant's wallet security policy (None: never set, the defaults apply)."""

    async def put(self, tenant_id: str, policy: WalletSecurityPolicy) -> None:
        """Store the tenant's policy (``updated_at`` set) and raise its configuration version."""
