# layerwalk: the app and its shipped weights, CPU-only torch, served by uvicorn as a non-root user.
# BASE is an ARG so a local stand-in for python:3.11-slim can be used where no registry is reachable.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# torch is pinned in pyproject.toml; pip takes the CPU build from this index (point it at a mirror if needed, or
# leave it empty when the wheel is in docker/wheels/).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_FIND_LINKS=/wheels
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY docker/wheels/ /wheels/
COPY pyproject.toml README.md constraints.txt nodeps.txt ./
COPY app app
COPY models models
# An optional CA bundle for pip (a build secret), for networks that re-sign TLS. Then what serving does not need
# goes: torch's C++ headers, CMake files, test suite and test binaries (import torch needs torch_shm_manager),
# static libraries, bytecode caches.
RUN --mount=type=secret,id=cacert,required=false \
    if [ -f /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi \
    && if [ -n "$TORCH_INDEX_URL" ]; then export PIP_EXTRA_INDEX_URL="$TORCH_INDEX_URL"; fi \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --constraint constraints.txt . \
    && /opt/venv/bin/pip install --no-deps --requirement nodeps.txt \
    && /opt/venv/bin/pip uninstall --yes layerwalk pip \
    && find /opt/venv -depth \( -name '__pycache__' -o -name '*.a' \) -exec rm -rf {} + \
    && torch=/opt/venv/lib/python3.11/site-packages/torch \
    && rm -rf "$torch/include" "$torch/share/cmake" "$torch/test" "$torch/lib/libtorchbind_test.so" \
    && find "$torch/bin" -type f ! -name torch_shm_manager -delete

FROM ${BASE}
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PORT=8000 WORKERS=1 FORWARDED_ALLOW_IPS=127.0.0.1
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin layerwalk
WORKDIR /srv/layerwalk
COPY --from=build /opt/venv /opt/venv
COPY app app
COPY models models
COPY static static
COPY templates templates
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["sh", "-c", "python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=2)\""]
# WORKERS: uvicorn processes (about one per core). Behind a proxy, set FORWARDED_ALLOW_IPS to its address and
# LAYERWALK_ROOT_PATH to its sub-path.
CMD ["sh", "-c", "exec uvicorn app.main:create_app --factory --host 0.0.0.0 --port \"$PORT\" --workers \"$WORKERS\" --proxy-headers --no-access-log"]
