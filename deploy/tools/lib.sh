# Shared by deploy/validate.sh and deploy/render-json.sh; source it, don't run it.
#
# Tools, in the order they are tried:
#   renderer: $BRIGADE_RENDERER if set (kubectl | kustomize | mini), else
#             "kubectl kustomize" when kubectl embeds kustomize v4 or newer,
#             else "kustomize build", else deploy/tools/minikustomize.py.
#   python:   a venv under $BRIGADE_DEPLOY_CACHE (default ~/.cache/brigade-deploy)
#             with deploy/tools/requirements.txt from PyPI, made once and reused.

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BRIGADE_DEPLOY_CACHE="${BRIGADE_DEPLOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/brigade-deploy}"

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

kubectl_kustomize_major() {
  command -v kubectl >/dev/null 2>&1 || return 1
  kubectl version --client -o json 2>/dev/null |
    python3 -c 'import json,sys; v=json.load(sys.stdin).get("kustomizeVersion","v0"); print(v.lstrip("v").split(".")[0])' 2>/dev/null
}

# Prints which renderer will be used: kubectl, kustomize or mini.
pick_renderer() {
  if [ -n "${BRIGADE_RENDERER:-}" ]; then
    echo "$BRIGADE_RENDERER"
    return
  fi
  local major
  major="$(kubectl_kustomize_major || true)"
  if [ -n "$major" ] && [ "$major" -ge 4 ] 2>/dev/null; then
    echo kubectl
  elif command -v kustomize >/dev/null 2>&1; then
    echo kustomize
  else
    echo mini
  fi
}

# render RENDERER DIR: YAML on stdout.
render() {
  case "$1" in
    kubectl) kubectl kustomize "$2" ;;
    kustomize) kustomize build "$2" ;;
    mini) "$(yaml_python)" "$DEPLOY_DIR/tools/minikustomize.py" "$2" ;;
    *) log "unknown renderer $1 (kubectl | kustomize | mini)"; return 2 ;;
  esac
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
