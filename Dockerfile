# trialplanner container image: `docker build -t trialplanner .` (docs/deploy.md).
# Two stages: wheels are built with a compiler and the libpq headers; the runtime stage has neither.

FROM python:3.11-slim-bookworm AS wheels
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements-runtime.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements-runtime.txt


FROM python:3.11-slim-bookworm
# libpq for psycopg2; Pango and fonts for WeasyPrint's PDFs; the PostgreSQL client for `manage backup`.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
       fontconfig fonts-dejavu-core postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 trialplanner \
    && useradd --system --uid 10001 --gid trialplanner --home-dir /app --shell /usr/sbin/nologin trialplanner
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BIND=0.0.0.0:8000 \
    WEB_CONCURRENCY=3 \
    GUNICORN_ACCESS_LOG=- \
    BACKUP_DIR=/backups \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY --from=wheels /wheels /wheels
COPY requirements-runtime.txt .
RUN pip install --no-cache-dir --no-index --find-links=/wheels -r requirements-runtime.txt \
    && rm -rf /wheels
COPY manage.py gunicorn.conf.py ./
COPY trialplanner ./trialplanner
COPY templates ./templates
COPY static ./static
COPY locale ./locale
COPY docker/entrypoint.sh ./docker/entrypoint.sh
# Static files are collected into the image (hashed names, compressed; WhiteNoise serves them). The key
# set here exists only for this one command: settings refuse to start without one, and it is no secret.
RUN DEBUG=false SECRET_KEY=collectstatic-at-build-time-only-not-a-secret-key \
    python manage.py collectstatic --no-input -v0 \
    && chmod -R a+rX /app \
    && install -d -m 0700 -o 10001 -g 10001 /backups
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status != 200)"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
