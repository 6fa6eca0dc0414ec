# trigger-mock: a local fake of the Trigger.dev Sessions API.
#
#   docker build -t trigger-mock .
#   docker run --rm -p 8080:8080 trigger-mock
#
# One port serves everything: the API, SSE, the control plane, the dashboard and the S2
# endpoint the SDK's writers call over HTTP/2; map it to any host port.
#
# Every `trigger-mock serve` option is a TRIGGER_MOCK_* variable (docker run -e …).
# PYTHON_IMAGE may be any image with Python >= 3.11, pip and venv (python:*-slim, or a
# Debian base with python3-venv, as CI builds it).
ARG PYTHON_IMAGE=python:3.12-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TRIGGER_MOCK_HOST=0.0.0.0 \
    TRIGGER_MOCK_PORT=8080

# A virtualenv: works on python:*-slim and on Debian's own Python, which refuses
# system-wide pip installs.
RUN python3 -m venv /opt/trigger-mock
ENV PATH=/opt/trigger-mock/bin:$PATH

WORKDIR /src
# Exact, hash-checked versions from the lock file (the build backend included), then the
# package itself with nothing else fetched.
COPY requirements.lock ./
RUN pip install --no-compile --require-hashes -r requirements.lock
COPY pyproject.toml README.md openapi.yaml ./
COPY mock_server ./mock_server
COPY contract_tests ./contract_tests
RUN pip install --no-compile --no-deps --no-build-isolation . && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /data --create-home trigger-mock
USER 10001
WORKDIR /data

EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_mock/health' % os.environ.get('TRIGGER_MOCK_PORT', '8080'), timeout=2)"]

# exec form: the server is PID 1 and gets SIGTERM itself (it stops with status 0).
CMD ["trigger-mock", "serve"]
