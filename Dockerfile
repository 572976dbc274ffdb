# syntax=docker/dockerfile:1
# SignalDesk server image: the runtime lock in a venv, the code as it is checked out (no
# build step: the .mo catalogues are tracked), run as a non-root user.
#
#   docker build -t signaldesk .          (BuildKit, Docker's default since 23; or buildah)
#   docker run --env-file .env -p 8080:8080 -v signaldesk-data:/app/data signaldesk
#
# Before the bot starts, the entrypoint brings the database up to date (`python -m bot
# migrate`); MIGRATE_ON_START=0 turns that off, for several instances on one PostgreSQL:
# run `docker run ... signaldesk migrate` once per release instead. Any `python -m bot`
# command is the container's command (`worker`, `migrate`, `backup /app/data/b.db`, `--help`);
# anything else runs as it is (`sh`). compose.yaml runs the bot, a worker and PostgreSQL;
# README "Running it on a server".

# Any Debian-like image with Python 3.11+ as `python3` (with its venv module) will do;
# `make image-test` builds one from Debian's packages, as no registry is reachable there.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# A private package index or mirror: --build-arg PIP_INDEX_URL=https://... (empty: PyPI).
ARG PIP_INDEX_URL=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# The runtime lock only, no test or lint tools; every pinned package has a wheel, so no
# compiler. Behind a TLS-inspecting proxy, give pip its CA bundle as a build secret
# (--secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt): used, never stored.
RUN --mount=type=secret,id=pip_cert \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi; \
    if [ -z "$PIP_INDEX_URL" ]; then unset PIP_INDEX_URL; fi; \
    /opt/venv/bin/python -m pip install --quiet -r /tmp/requirements.txt \
    && /opt/venv/bin/python -m pip uninstall --quiet --yes pip

FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8080
# A user with no login shell and no home of its own; it owns only the data directory.
RUN groupadd --gid 10001 signaldesk \
    && useradd --uid 10001 --gid signaldesk --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin signaldesk
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The code only (.dockerignore keeps the rest out), owned by root: the app cannot rewrite
# itself. Byte-compiled here, since the app user cannot write __pycache__ at run time.
COPY bot/ bot/
COPY webapp/ webapp/
COPY db/ db/
COPY alembic.ini pyproject.toml LICENSE NOTICE .env.example ./
COPY deploy/docker-entrypoint.sh /usr/local/bin/signaldesk-entrypoint
RUN python -m compileall -q bot webapp db \
    && mkdir -p /app/data && chown signaldesk:signaldesk /app/data && chmod 0750 /app/data
# SQLite's default place (DATABASE_URL=sqlite+aiosqlite:///./data/signaldesk.db); backups too.
VOLUME ["/app/data"]
USER signaldesk
EXPOSE 8080
# Liveness only (/readyz also asks the database and Telegram: a load balancer's question).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"
ENTRYPOINT ["/usr/local/bin/signaldesk-entrypoint"]
CMD []
