#!/usr/bin/env bash
# Post-create for Coder workspaces: runs at every workspace start; envbuilder logs it to the volume.
set -euo pipefail
echo "[postCreate] repository: $(pwd) at $(git rev-parse --short HEAD)"
echo "[postCreate] $(git --version)"
echo "[postCreate] done"
