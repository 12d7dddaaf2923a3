# workspace-spec as an image, for runs in the cluster (deploy/) or any runner with a container engine:
#   docker build -t workspace-spec .
#   docker run --rm -e CODER_URL -e CODER_SESSION_TOKEN -v ~/.kube/aks-dev:/kube/config:ro \
#     -e KUBECONFIG=/kube/config workspace-spec --tags=@smoke
# It runs against a live deployment only (CODER_URL set): the embedded lab, the project's own tests,
# the dev tools and the Codex CLI stay out. Reports go to /app/reports (a volume in the cluster).
# With --build-arg BROWSER=true it also has a browser for the @browser scenario (VS Code opened through
# Coder's app proxy): Debian's chromium and Playwright for Python, about 380 MB more.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/home/spec

WORKDIR /app

COPY requirements.txt requirements-browser.txt ./
RUN python -m pip install --no-cache-dir -r requirements.txt

ARG BROWSER=false
# Debian's chromium follows its security updates: a pinned version would stop building within weeks.
# hadolint ignore=DL3008
RUN if [ "$BROWSER" = "true" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends chromium \
      && rm -rf /var/lib/apt/lists/* \
      && python -m pip install --no-cache-dir -r requirements-browser.txt; \
    fi

# The coder CLI (SSH into workspaces as a ProxyCommand): the official image keeps its binary at /opt/coder.
# Keep its version with the deployment's (coder.dev.ameide.io).
COPY --from=ghcr.io/coder/coder:v2.24.2 /opt/coder /usr/local/bin/coder

RUN useradd --uid 10001 --user-group --create-home --home-dir /home/spec --shell /usr/sbin/nologin spec \
    && mkdir -p /app/reports \
    && chown spec:spec /app/reports

COPY pyproject.toml environment.py ./
COPY features/ features/
COPY steps/ steps/
COPY workspace_spec/ workspace_spec/
COPY reporting/ reporting/

USER 10001:10001

ENTRYPOINT ["behave"]
CMD ["--tags=@smoke"]
