# layerwalk: the app and its shipped weights, served by uvicorn. Issue 7 hardens this (multi-stage, size, compose).
# BASE is a build ARG so a local stand-in base can replace python:3.11-slim where no registry is reachable.
# torch is pinned in pyproject.toml; on a machine with internet pass PyTorch's CPU wheel index as
# PIP_EXTRA_INDEX_URL, or pip takes the much larger CUDA build.
ARG BASE=python:3.11-slim
FROM ${BASE}

ARG PIP_EXTRA_INDEX_URL=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WORKERS=1

WORKDIR /srv/layerwalk
COPY pyproject.toml README.md ./
COPY app app
COPY models models
COPY static static
COPY templates templates
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile -e . \
    && useradd --system --uid 10001 --home-dir /srv/layerwalk layerwalk

USER layerwalk
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD ["/opt/venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["sh", "-c", "exec /opt/venv/bin/uvicorn app.main:create_app --factory --host 0.0.0.0 --port 8000 --workers ${WORKERS}"]
