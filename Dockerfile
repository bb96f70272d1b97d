# syntax=docker/dockerfile:1
# errlog's container image: one image runs the collector (`errlog serve`, the default), the task
# workers (`errlog worker`) and migrations (`errlog db upgrade`). See docker-compose.yml and
# docs/deployment-compose.md.
#
#   docker build -t errlog:latest .
#   docker run -p 8000:8000 -v errlog-data:/data errlog:latest

# ---- build: resolve and install everything into a virtualenv that the runtime stage copies whole ----
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# Same path as in the runtime stage: a venv's scripts hard-code its interpreter's path.
RUN python -m venv /opt/errlog
ENV PATH=/opt/errlog/bin:$PATH

WORKDIR /src

# Dependencies get their own layer, keyed on pyproject.toml alone, so a code change does not
# download them all again. They are read from pyproject.toml itself so there is no second list to drift.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY . .
# --no-deps: they are all in place, and pip must not quietly pull in something pyproject.toml did not list.
RUN pip install --no-deps . \
    && pip check

# ---- runtime: the interpreter, the venv and an unprivileged user; no source tree, no build cache ----
FROM python:3.11-slim AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="errlog" \
      org.opencontainers.image.description="Self-hosted error tracker for on-call triage: Sentry-compatible collector, paging tasks and a terminal console." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"

ENV PATH=/opt/errlog/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ERRLOG_DATA_DIR=/data \
    ERRLOG_CONFIG=/etc/errlog/config.toml

# A fixed uid/gid so a bind-mounted /data can be chowned to it from the host (chown 10001:10001).
RUN groupadd --system --gid 10001 errlog \
    && useradd --system --uid 10001 --gid errlog --home-dir /home/errlog --create-home \
        --shell /usr/sbin/nologin errlog \
    && mkdir -p /data /etc/errlog \
    && chown errlog:errlog /data

COPY --from=build /opt/errlog /opt/errlog

USER errlog:errlog
WORKDIR /data
# The embedded default's SQLite database and task queue live here when no ERRLOG_DATABASE_URL /
# ERRLOG_REDIS_URL is set; a new named volume inherits the errlog ownership set above.
VOLUME ["/data"]

EXPOSE 8000

# slim has no curl; urlopen raises on a refused connection or a non-2xx answer, so the exit status says it.
# The port matches the default CMD: a container started with another --port needs its own healthcheck,
# and worker containers (no HTTP server) must disable it, as docker-compose.yml does.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/error-logging/webhook/health/', timeout=4)"]

CMD ["errlog", "serve", "--host", "0.0.0.0", "--port", "8000"]
