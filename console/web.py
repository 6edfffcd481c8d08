"""What every page shares: the templates, the signed-in user, and failures shown as words (never a trace)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from console.access import User, user_of
from console.config import ConsoleSettings
from console.services import Services

COOKIE = "console_token"
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# A fresh idempotency key in each action form: the same form sent twice (a double click) acts once.
templates.env.globals["new_key"] = lambda: uuid.uuid4().hex


class NotSignedIn(Exception):
    """No (readable) token in the cookie: the user signs in first."""


class Forbidden(Exception):
    """The user's role does not open this page; the message says which role does."""


def settings_of(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def signed_in(request: Request) -> User:
    token = request.cookies.get(COOKIE)
    user = user_of(token) if token else None
    if user is None:
        raise NotSignedIn()
    return user


CurrentUser = Annotated[User, Depends(signed_in)]
CurrentServices = Annotated[Services, Depends(services_of)]
Settings = Annotated[ConsoleSettings, Depends(settings_of)]


def require(user: User, page: str) -> None:
    if not user.may(page):
        raise Forbidden(f"Your role ({user.title}) does not open this page.")


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = None
    token = request.cookies.get(COOKIE)
    if token:
        user = user_of(token)
    context = {"user": user, "settings": settings_of(request), **context}
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def to_sign_in(request: Request) -> Response:
    target = "/sign-in"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
