# One image for Cohort's web service and worker (render.yaml uses it; so can any container host):
# Debian's Python 3.11 and HAProxy, the locked dependencies, and `python -m app.serve`, which runs
# WEB_PROCESSES web processes behind HAProxy on $PORT (one process, no proxy, by default).
#   docker build -t cohort .
#   docker run -p 8501:8501 -e PORT=8501 cohort                      # SQLite in the container
#   docker run -e DATABASE_URL=postgresql://... -e WEB_PROCESSES=2 ... cohort
#   docker run -e DATABASE_URL=postgresql://... cohort python -m app.worker
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv haproxy ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# uv, pinned, in a folder of its own; it installs the locked dependencies with Debian's Python.
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir uv==0.13.9
ENV UV_PYTHON=/usr/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

WORKDIR /app
# Dependencies first: a change of code alone reuses this layer.
COPY pyproject.toml uv.lock ./
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-install-project
COPY . .
RUN /opt/uv/bin/uv sync --frozen --no-dev \
    && useradd --system --home-dir /app cohort \
    && mkdir -p /app/data \
    && chown -R cohort /app/.streamlit /app/data

USER cohort
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PORT=8501
EXPOSE 8501
CMD ["python", "-m", "app.serve"]
