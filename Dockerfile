# kalshi-rl in two flavours (see docs/operations.md):
#   docker build -t kalshi-rl .                                        collect, serve, paper, sim, inspect
#   docker build --build-arg EXTRAS='[train]' -t kalshi-rl:train .     the same plus train, evaluate, tune
# (the slim image has no torch: the paper actor runs its policy with numpy). Run: docker compose up.
# The build runs the Makefile's own targets (install, openapi, bundle), the ones CI runs.

# -- 1. Python: the package and its dependencies in /opt/venv (CPU torch, pinned by constraints.txt)
FROM python:3.11-slim AS python-build
# The CPU build of torch: PyPI's default torch wheel bundles CUDA (gigabytes) the image never uses.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG EXTRAS=""
ENV PIP_EXTRA_INDEX_URL=${TORCH_INDEX_URL} \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile pyproject.toml constraints.txt README.md ./
COPY kalshi_rl ./kalshi_rl
RUN make install VENV=/opt/venv PYTHON=python3.11 EXTRAS="${EXTRAS}" \
    && mkdir -p frontend \
    && make openapi VENV=/opt/venv

# -- 2. Node: the ML tab's bundle, typed from the OpenAPI document stage 1 wrote
FROM node:22-bookworm-slim AS frontend-build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY frontend ./frontend
COPY --from=python-build /src/frontend/openapi.json ./frontend/openapi.json
RUN make bundle

# -- 3. The package again, now with the bundle as its package data
FROM python-build AS package
COPY --from=frontend-build /src/kalshi_rl/api/static ./kalshi_rl/api/static
RUN /opt/venv/bin/python -m pip install --no-deps --force-reinstall .

# -- 4. Runtime: the venv only, run by an unprivileged user
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    MODELS_DIR=/models \
    HEALTH_URL=http://127.0.0.1:8000/rl/health
RUN groupadd --system --gid 10001 kalshi \
    && useradd --system --uid 10001 --gid kalshi --home-dir /home/kalshi --create-home kalshi \
    && mkdir -p /data /models \
    && chown kalshi:kalshi /data /models
COPY --from=package /opt/venv /opt/venv
USER 10001:10001
WORKDIR /home/kalshi
VOLUME ["/data", "/models"]
EXPOSE 8000 9100
# Liveness of serve (/rl/health) or of collect/paper --metrics-port (HEALTH_URL on its port).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['HEALTH_URL'], timeout=4)"]
ENTRYPOINT ["kalshi-rl"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
