"""Signing in: in the dev profile a token for a chosen role, minted here (cli/tokens.py) and kept in an HttpOnly
cookie; outside dev the console mints nothing: the sign-in page sends the browser to the OIDC provider, and
`/callback` trades the code it brings back for the provider's access token, kept in the same cookie."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from cli.tokens import ROLES, TokenRefused, mint
from console.access import ROLE_TITLES, user_of
from console.config import ConsoleSettings
from console.oidc import STATE_COOKIE, STATE_TTL_S, OidcClient, SignInFailed
from console.web import COOKIE, Settings, render

SUBJECT = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
SESSION_S = 8 * 3600


def signin_router() -> APIRouter:
    router = APIRouter()

    @router.get("/sign-in", response_model=None)
    async def sign_in_page(request: Request, settings: Settings) -> Response:
        if settings.mints_tokens:
            return render(request, "sign_in.html", roles=ROLE_TITLES)
        if settings.oidc is None:
            return render(request, "sign_in.html", 503, problem="No identity provider is configured (OIDC_ISSUER …).")
        authorize, kept = settings.oidc.start()
        response = RedirectResponse(authorize, status_code=303)
        # Lax, not Strict: the provider's redirect back to /callback is a cross-site navigation.
        response.set_cookie(
            STATE_COOKIE, kept, max_age=STATE_TTL_S, httponly=True, secure=settings.secure_cookie, samesite="lax"
        )
        return response

    @router.get("/callback", response_model=None)
    async def callback(
        request: Request,
        settings: Settings,
        code: Annotated[str, Query(max_length=2048)] = "",
        state: Annotated[str, Query(max_length=256)] = "",
        error: Annotated[str, Query(max_length=200)] = "",
        error_description: Annotated[str, Query(max_length=500)] = "",
    ) -> Response:
        try:
            oidc = provider_of(settings)
            if error:
                raise SignInFailed(f"The identity provider did not sign you in: {error_description or error}.")
            if not code:
                raise SignInFailed("The identity provider's answer carries no code; sign in again.")
            verifier = OidcClient.verifier_for(request.cookies.get(STATE_COOKIE), state)
            tokens = await oidc.exchange(code, verifier)
        except SignInFailed as failed:
            response: Response = render(request, "sign_in.html", 400, problem=str(failed))
            response.delete_cookie(STATE_COOKIE)
            return response
        token = tokens["access_token"]
        user = user_of(token)
        if user is None:
            return render(request, "sign_in.html", 400, problem="The provider's access token is not a JWT.")
        lifetime = tokens.get("expires_in")
        # A page, not a redirect: a SameSite=Strict cookie set on a cross-site navigation is not sent until the
        # next same-site one, so the browser moves on by itself (meta refresh, no script under the CSP).
        response = render(request, "signed_in.html", home=user.home)
        keep(response, settings, token, int(lifetime) if isinstance(lifetime, int) and lifetime > 0 else SESSION_S)
        response.delete_cookie(STATE_COOKIE)
        return response

    @router.post("/sign-in", response_model=None)
    async def sign_in(
        request: Request,
        settings: Settings,
        role: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
    ) -> Response:
        problem = None
        if not settings.mints_tokens:
            problem = (
                f"This console runs with AUTH_PROFILE={settings.auth_profile}: it issues no tokens. "
                "Sign in through your organisation's identity provider."
            )
        elif role not in ROLES:
            problem = "Choose a role."
        elif not SUBJECT.match(name):
            problem = "Your name: 1 to 64 letters, digits or . _ @ - (no spaces)."
        if problem is not None:
            return render(request, "sign_in.html", 400, roles=ROLE_TITLES, problem=problem, name=name, role_chosen=role)
        try:
            token = mint(subject=name, role=role, ttl_s=SESSION_S)
        except TokenRefused as refused:
            return render(request, "sign_in.html", 400, roles=ROLE_TITLES, problem=str(refused), name=name)
        user = user_of(token)
        assert user is not None
        response = RedirectResponse(user.home, status_code=303)
        keep(response, settings, token, SESSION_S)
        return response

    @router.post("/sign-out")
    async def sign_out() -> RedirectResponse:
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    return router


def provider_of(settings: ConsoleSettings) -> OidcClient:
    if settings.oidc is None:
        raise SignInFailed(
            f"This console runs with AUTH_PROFILE={settings.auth_profile} and no identity provider: nothing to answer."
        )
    return settings.oidc


def keep(response: Response, settings: ConsoleSettings, token: str, lifetime_s: int) -> None:
    """The session: the token in an HttpOnly cookie the page's scripts cannot read."""
    response.set_cookie(
        COOKIE, token, max_age=lifetime_s, httponly=True, secure=settings.secure_cookie, samesite="strict"
    )
