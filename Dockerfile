# One image for all five services; the service is chosen by the command:
#   docker run IMAGE orders-service | inventory-service | shipping-service | customer-service | reporting-service
# Not built on the project's machines (no Docker engine there): kept deliberately plain.

# --- build: resolve the locked dependencies with uv, then install the project itself (not editable) --------
FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY services ./services
COPY shared ./shared
COPY deploy ./deploy
COPY demo ./demo
COPY cli ./cli
COPY console ./console
RUN uv sync --frozen --no-dev --no-editable

# --- runtime: the virtual environment only, run by an unprivileged user ------------------------------------
FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /app/.venv /app/.venv
# Bytecode was compiled at build time; the root filesystem may be read-only (Kubernetes mounts /tmp only).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HTTP_HOST=0.0.0.0
WORKDIR /tmp
USER 10001:10001
EXPOSE 8001 8002 8003 8004 8005
# No default service: starting the wrong one silently would be worse than this message.
CMD ["sh", "-c", "echo 'name a service: orders-service | inventory-service | shipping-service | customer-service | reporting-service' >&2; exit 64"]
