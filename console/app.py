"""The console's app factory: pages, static assets, `/health`, and every failure as a page in words."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.config import ConsoleSettings
from console.pages.customers import customers_router
from console.pages.home import home_router
from console.pages.logistics import logistics_router
from console.pages.manager import manager_router
from console.pages.orders import orders_router
from console.pages.signin import signin_router
from console.services import Service, Services
from console.web import HERE, Forbidden, NotSignedIn, render, signed_in, to_sign_in

log = logging.getLogger("console")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_console_app(settings: ConsoleSettings) -> FastAPI:
    app = FastAPI(title="Fulfillment console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.services = Services(
        customer_service=Service("customer_service", settings.customer_service_url, settings.service_timeout_s),
        shipping=Service("shipping", settings.shipping_url, settings.service_timeout_s),
        reporting=Service("reporting", settings.reporting_url, settings.service_timeout_s),
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    pages = (signin_router(), home_router(), orders_router(), customers_router(), logistics_router())
    for router in (*pages, manager_router()):
        app.include_router(router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_model=None)
    async def home(request: Request) -> Response:
        try:
            user = signed_in(request)
        except NotSignedIn:
            return to_sign_in(request)
        return RedirectResponse(user.home, status_code=303)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    install_error_pages(app)
    return app


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: NotSignedIn) -> Response:
        return to_sign_in(request)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, refused: Forbidden) -> HTMLResponse:
        return render(request, "error.html", 403, problem=str(refused))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> HTMLResponse:
        words = {404: "There is no such page.", 405: "This page does not take that kind of request."}
        return render(request, "error.html", error.status_code, problem=words.get(error.status_code, str(error.detail)))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> HTMLResponse:
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in error.errors())
        return render(request, "error.html", 422, problem=f"Some of what was sent is not valid: {fields}.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> HTMLResponse:
        log.exception("console: %s %s failed", request.method, request.url.path)
        return render(
            request, "error.html", 500, problem=f"The console failed on this request ({type(error).__name__})."
        )
