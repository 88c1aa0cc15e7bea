# syntax=docker/dockerfile:1
# erepwatch: build the wheel with uv in a builder stage, install it into a venv, ship only that venv.

FROM python:3.11-slim AS builder
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
# Dependencies first, from the lockfile, so that a code change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv venv /opt/erepwatch \
 && uv export --frozen --no-dev --no-emit-project --no-hashes -o /tmp/requirements.txt \
 && VIRTUAL_ENV=/opt/erepwatch uv pip install --no-cache -r /tmp/requirements.txt
COPY src ./src
COPY config ./config
COPY migrations ./migrations
RUN uv build --wheel --out-dir /tmp/dist \
 && VIRTUAL_ENV=/opt/erepwatch uv pip install --no-cache --no-deps /tmp/dist/*.whl

FROM python:3.11-slim
LABEL org.opencontainers.image.title="erepwatch" \
      org.opencontainers.image.description="Self-hosted e-reputation monitoring" \
      org.opencontainers.image.licenses="MIT"
# No compiler, no uv, no sources in the final image: only the venv built above.
RUN groupadd --system --gid 10001 erepwatch \
 && useradd --system --uid 10001 --gid erepwatch --home-dir /var/lib/erepwatch --create-home erepwatch
COPY --from=builder /opt/erepwatch /opt/erepwatch
ENV PATH=/opt/erepwatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    EREPWATCH_DATA_DIR=/var/lib/erepwatch \
    EREPWATCH_WEB_ADDR=0.0.0.0:8080 \
    EREPWATCH_LOG_FORMAT=json
USER erepwatch
WORKDIR /var/lib/erepwatch
VOLUME ["/var/lib/erepwatch"]
EXPOSE 8080
# 200 only when the database answers and the scheduler ticked recently; asks the port of EREPWATCH_WEB_ADDR
# (an address that listens everywhere is reached on loopback).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request as u; h, _, p = os.environ.get('EREPWATCH_WEB_ADDR', '127.0.0.1:8080').rpartition(':'); h = h.strip('[]'); h = {'': '127.0.0.1', '0.0.0.0': '127.0.0.1', '::': '::1'}.get(h, h); h = f'[{h}]' if ':' in h else h; sys.exit(0 if u.urlopen(f'http://{h}:{p}/healthz', timeout=4).status == 200 else 1)"]
STOPSIGNAL SIGTERM
# Waits for the database, takes the one-daemon lock, applies migrations, then runs.
ENTRYPOINT ["erepwatch"]
CMD ["run", "--migrate"]
