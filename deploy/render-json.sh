#!/usr/bin/env bash
# Renders one overlay (dev | production | a directory) with `kubectl kustomize`
# and prints its objects as ONE JSON list on stdout, for tests that cannot
# parse YAML (tests/tests/e2e/deploy_contract.rs). The kubectl used is named on stderr.
set -euo pipefail
source "$(dirname "$0")/tools/lib.sh"

overlay="${1:?usage: deploy/render-json.sh <dev|production|DIR>}"
dir="$overlay"
[ -d "$dir" ] || dir="$DEPLOY_DIR/k8s/overlays/$overlay"
[ -f "$dir/kustomization.yaml" ] || { log "no kustomization.yaml in $dir"; exit 2; }

kubectl="$(ensure_kubectl)"
log "render-json: $dir with $kubectl kustomize"
"$kubectl" kustomize "$dir" | yaml_to_json
