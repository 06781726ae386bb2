# syntax=docker/dockerfile:1.7
#
# durable-agent images: one multi-target Dockerfile, one image per service.
#
#   docker build --target api          -t durable-agent/api .
#   docker build --target worker-llm   -t durable-agent/worker-llm .
#   docker build --target worker-tools -t durable-agent/worker-tools .
#   docker build --target fake-llm     -t durable-agent/fake-llm .
#
# Each image holds only its own workspace member and that member's locked
# dependencies (uv.lock, `uv sync --frozen --no-dev --package <member>`), in a
# virtualenv built in a builder stage and copied into a clean python:3.11-slim
# stage: no uv, no compiler, no sources, no dev tools in the final image. The
# final images run as an unprivileged numeric user (10001) and work with a
# read-only root file system (only /tmp needs to be writable).

ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------------------
# builder: uv plus the workspace sources; one build-<service> stage per image
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
# Compile bytecode at build time (the runtime file system is read-only), copy
# rather than hard-link out of the cache mount, never download a Python: the
# venv must point at this image's /usr/local/bin/python3.11, which the final
# stage (same base image) has at the same path.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# Per service: (1) third-party dependencies only, from the lock file alone, so
# this layer is rebuilt only when uv.lock or the root pyproject changes; then
# (2) the sources and the member itself, installed non-editable so that the
# venv does not refer back to /src.
FROM builder AS build-api
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package agent-api
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package agent-api

FROM builder AS build-worker-llm
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package worker-llm
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package worker-llm

FROM builder AS build-worker-tools
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package worker-tools
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package worker-tools

FROM builder AS build-fake-llm
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package fake-llm
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package fake-llm

# ---------------------------------------------------------------------------
# runtime: what every final image shares
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="durable-agent" \
      org.opencontainers.image.description="durable-agent: a durable, streaming multi-turn AI agent on Temporal"
# Fixed numeric ids: Kubernetes' runAsNonRoot can only verify a numeric USER.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/healthcheck
# HOME and caches point at /tmp: the only writable path when the root file
# system is read-only (compose read_only + tmpfs, Kubernetes emptyDir).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache
WORKDIR /app

# ---------------------------------------------------------------------------
# final images (the last, api, is also the default target)
# ---------------------------------------------------------------------------
FROM runtime AS fake-llm
COPY --from=build-fake-llm /app/.venv /app/.venv
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["healthcheck", "http://127.0.0.1:8080/healthz"]
CMD ["fake-llm", "--host", "0.0.0.0", "--port", "8080"]

FROM runtime AS worker-tools
COPY --from=build-worker-tools /app/.venv /app/.venv
ENV METRICS_PORT=9100 \
    TEMPORAL_METRICS_PORT=9101
EXPOSE 9100 9101
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["healthcheck", "http://127.0.0.1:${METRICS_PORT}/metrics"]
CMD ["worker-tools"]

FROM runtime AS worker-llm
COPY --from=build-worker-llm /app/.venv /app/.venv
# LITELLM_LOCAL_MODEL_COST_MAP: litellm otherwise fetches a price list at import.
# METRICS_PORT serves the worker's Prometheus metrics (any path answers), which
# doubles as its health endpoint; TEMPORAL_METRICS_PORT is the Temporal SDK's.
ENV LITELLM_LOCAL_MODEL_COST_MAP=True \
    METRICS_PORT=9100 \
    TEMPORAL_METRICS_PORT=9101
EXPOSE 9100 9101
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["healthcheck", "http://127.0.0.1:${METRICS_PORT}/metrics"]
CMD ["worker-llm"]

FROM runtime AS api
COPY --from=build-api /app/.venv /app/.venv
# METRICS_PORT: /metrics on a port of its own, not the API's (which a proxy exposes).
ENV API_HOST=0.0.0.0 \
    API_PORT=8000 \
    METRICS_PORT=9100
EXPOSE 8000 9100
USER 10001:10001
# /healthz is liveness only (the process serves); /readyz also checks Temporal and Redis.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["healthcheck", "http://127.0.0.1:${API_PORT}/healthz"]
CMD ["agent-api"]
