"""HTTP access control for every service: `requires("orders:read")` on each route.

```
@router.get("/orders/{order_id}", dependencies=[requires("orders:read")])          # who it is does not matter
async def open_case(..., agent: Annotated[Principal, requires("cases:write")])     # the actor is recorded
```
No token, or one that does not verify → 401 with `WWW-Authenticate: Bearer`; a valid token without the scope →
403 naming the missing scope. Routes that declare nothing stay open: only `/health`, `/ready`, `/metrics` and the
docs should (tests/integration/test_access_control.py checks every service's OpenAPI document for it).
The verifier is the app's (`install_access_control`), built from its settings, never a module global.

With UNSAFE_DISABLE_HTTP_AUTH (dev profile only: `auth_settings_problem` refuses it elsewhere) no token is read
or checked: every caller of every route is `UNAUTHENTICATED_SUBJECT` with every scope, which is what events then
record. It exists so that the order benchmark can show what verifying tokens costs (`--compare-protection`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from shared.http.limits import RequestLimits, install_quiet_validation_errors
from shared.http.scopes import ROLE_SCOPES, SCOPES
from shared.http.tokens import (
    DEV_PROFILE,
    UNAUTHENTICATED_SUBJECT,
    AuthSettings,
    InvalidToken,
    Principal,
    TokenVerifier,
)

__all__ = ["Principal", "install_access_control", "requires"]

SCHEME = "bearer"


def _scheme_description() -> str:
    roles = "; ".join(f"`{role}`: {', '.join(sorted(scopes))}" for role, scopes in ROLE_SCOPES.items())
    return (
        "A JWT from the identity provider (locally: `fulfillment auth token --role <role>`). People's tokens carry "
        f"`roles`, machine clients' tokens an explicit `scope`. Roles → scopes: {roles}. "
        "Each operation lists the scopes it requires."
    )


_bearer = HTTPBearer(auto_error=False, scheme_name=SCHEME, bearerFormat="JWT", description=_scheme_description())


def install_access_control(app: FastAPI, settings: AuthSettings, *, max_body_bytes: int) -> None:
    """Every service's app: the token verifier its routes' `requires` use, and the request limits."""
    app.state.token_verifier = TokenVerifier.from_settings(settings)
    # None: tokens are checked. Else the principal every request is served as, whatever it sends. The profile is
    # looked at again here, not only at start: an app built without the runtime (a test's) is never left open.
    unchecked = settings.unsafe_disable_http_auth and settings.auth_profile == DEV_PROFILE
    app.state.unchecked_principal = (
        Principal(UNAUTHENTICATED_SUBJECT, frozenset(SCOPES), roles=("admin",)) if unchecked else None
    )
    app.add_middleware(RequestLimits, max_body_bytes=max_body_bytes)
    install_quiet_validation_errors(app)


async def _authenticate(
    request: Request,
    required: SecurityScopes,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    unchecked: Principal | None = request.app.state.unchecked_principal
    if unchecked is not None:
        return unchecked
    if credentials is None:
        raise _unauthorized("a bearer token is required (Authorization: Bearer <JWT>)", None)
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        if verifier.fetches_keys:
            principal = await asyncio.to_thread(verifier.verify, credentials.credentials)
        else:
            principal = verifier.verify(credentials.credentials)
    except InvalidToken as error:
        raise _unauthorized(f"invalid token: {error}", "invalid_token") from None
    missing = [scope for scope in required.scopes if scope not in principal.scopes]
    if missing:
        raise HTTPException(
            status_code=403,
            detail=f"missing scope {' '.join(missing)} (token of {principal.subject!r})",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(required.scopes)}"'},
        )
    return principal


def requires(*scopes: str) -> Any:
    """The dependency a route declares: a verified token holding every one of `scopes`; it yields the Principal."""
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}: add them to shared/http/scopes.py first")
    return Security(_authenticate, scopes=list(scopes))


def _unauthorized(detail: str, error: str | None) -> HTTPException:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": challenge})
