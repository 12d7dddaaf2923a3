"""Kubeconfig files for the lab's Kubernetes API: one per identity, token auth, the lab CA embedded.

Serve the API over TLS: kubectl's clientcmd silently drops a kubeconfig's credentials for an http://
server, so over plain HTTP it gets 401s.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any


def write_kubeconfig(
    path: Path, server: str, token: str, context: str = "lab", ca_pem: str | None = None, user: str | None = None
) -> None:
    """Write a token kubeconfig for `server` (JSON, which kubeconfig loaders read as YAML), mode 0600.

    `ca_pem` (the lab CA's, `LabCA.pem`) is embedded as certificate-authority-data for an https server;
    `user` names the kubeconfig's user entry (default: the context's name).
    """
    user = user or context
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # os.open keeps the old mode of an existing file
    with os.fdopen(fd, "w") as file:
        json.dump(config, file, indent=2)
