"""The Authorization Code flow's user records: found by provider and subject, created once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openissuer.domain.authorization import AuthenticationProvider


async def test_concurrent_first_sign_ins_share_one_user() -> None:
    """Two sign-ins of a new holder at once: the loser of the insert race uses the winner's user."""
    from openissuer.adapters.memory.store import InMemoryStore
    from openissuer.adapters.memory.uow import InMemoryUnitOfWork
    from openissuer.domain.users import User
    from openissuer.services.authorization import AuthorizationService

    store = InMemoryStore()
    now = datetime.now(UTC)
    existing = User(
        id="u-1",
        tenant_id="t",
        claims={"email": "old"},
        created_at=now,
        updated_at=now,
        authentication_provider_id="p",
        subject_id="alice",
    )
    service = AuthorizationService.__new__(AuthorizationService)
    async with InMemoryUnitOfWork(store) as uow:
        await uow.users.add(existing)
        real_find = uow.users.find_by_subject
        calls = []

        async def racing_find(*args: Any) -> Any:
            calls.append(args)
            return None if len(calls) == 1 else await real_find(*args)  # first look: not there yet

        uow.users.find_by_subject = racing_find  # type: ignore[method-assign]
        prov = AuthenticationProvider(
            id="p",
            tenant_id="t",
            url="https://idp.example",
            scope=("openid",),
            client_id="rp",
            sealed_client_secret=b"",
            secret_hint="",
            token_endpoint_auth_method="client_secret_basic",
            static_request_parameters={},
            forwarded_request_parameters=(),
            claims_to_persist=("email",),
            created_at=now,
            updated_at=now,
        )
        user = await service._user_for(uow, prov, "alice", {"email": "new"}, now)
        assert user.id == "u-1"
        assert (await real_find("t", "p", "alice")).claims == {"email": "new"}  # type: ignore[union-attr]
