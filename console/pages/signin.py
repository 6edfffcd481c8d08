"""Signing in: in the dev profile a token for a chosen role, minted here (cli/tokens.py) and kept in an HttpOnly
cookie; outside dev the console mints nothing (an OIDC provider would hand the token over instead, README)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cli.tokens import ROLES, TokenRefused, mint
from console.access import ROLE_TITLES, user_of
from console.web import COOKIE, Settings, render

SUBJECT = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
SESSION_S = 8 * 3600


def signin_router() -> APIRouter:
    router = APIRouter()

    @router.get("/sign-in", response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> HTMLResponse:
        return render(request, "sign_in.html", roles=ROLE_TITLES)

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
        response.set_cookie(
            COOKIE,
            token,
            max_age=SESSION_S,
            httponly=True,
            secure=settings.secure_cookie,
            samesite="strict",
        )
        return response

    @router.post("/sign-out")
    async def sign_out() -> RedirectResponse:
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    return router
