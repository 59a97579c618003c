#!/usr/bin/env bash
# Renders every overlay under deploy/k8s/overlays and validates it offline:
#   1. render with `kubectl kustomize` (the kubectl on PATH if it embeds
#      kustomize >= v4, else the pinned kubectl wheel from PyPI, see tools/lib.sh);
#   2. strict OpenAPI schema validation of every object against Kubernetes
#      $BRIGADE_K8S_MIN_VERSION (default 1.29) up to the newest known, with
#      kubernetes-validate from PyPI (a cached venv, made on first use);
#   3. cross-object checks (references, selectors, ports, probes, security,
#      the --migrate-only init containers; init containers are checked like
#      containers), and every container's and init container's command
#      against the ENTRYPOINT of the Dockerfile target its image comes from.
# Exits non-zero on any problem. Also checks the Dockerfile basics.
#
# Environment: BRIGADE_KUBECTL forces a kubectl; BRIGADE_DEPLOY_CACHE moves
# the venvs (default ~/.cache/brigade-deploy).
set -euo pipefail
source "$(dirname "$0")/tools/lib.sh"

min_version="${BRIGADE_K8S_MIN_VERSION:-1.29}"
python="$(ensure_venv)"
kubectl="$(ensure_kubectl)"
log "==> renderer: $kubectl kustomize ($("$kubectl" version --client -o json | "$python" -c 'import json,sys; print(json.load(sys.stdin)["kustomizeVersion"])'))"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
status=0

# Secrets the production operator creates by hand (deploy/README.md); the dev
# overlay must render every Secret it references.
external_secrets_for() {
  case "$1" in
    production) echo "--external-secret job-queue-database --external-secret recipe-types-database --external-secret brigade-tokens --external-secret brigade-service-tokens" ;;
    *) echo "" ;;
  esac
}

for dir in "$DEPLOY_DIR"/k8s/overlays/*/; do
  overlay="$(basename "$dir")"
  log "==> overlay $overlay"
  if ! "$kubectl" kustomize "$dir" >"$out/$overlay.yaml"; then
    log "ERROR [$overlay] rendering failed"
    status=1
    continue
  fi
  yaml_to_json <"$out/$overlay.yaml" >"$out/$overlay.json"
  # shellcheck disable=SC2046
  if ! "$python" "$DEPLOY_DIR/tools/check_manifests.py" "$out/$overlay.json" --overlay "$overlay" \
      --min-version "$min_version" --dockerfile "$DEPLOY_DIR/docker/Dockerfile" \
      $(external_secrets_for "$overlay") >&2; then
    status=1
  fi
done

# Each rendered container's and init container's command was checked against
# its image's Dockerfile ENTRYPOINT above (check_manifests.py --dockerfile);
# here only that the Dockerfile builds all three binaries.
log "==> Dockerfile has an ENTRYPOINT per binary"
for bin in brigade-job-queue brigade-recipe-types brigade-gateway; do
  if ! grep -q "ENTRYPOINT \[\"/usr/local/bin/$bin\"\]" "$DEPLOY_DIR/docker/Dockerfile"; then
    log "ERROR Dockerfile has no ENTRYPOINT /usr/local/bin/$bin"
    status=1
  fi
done
if ! cmp -s "$DEPLOY_DIR/docker/.dockerignore" "$DEPLOY_DIR/docker/Dockerfile.dockerignore"; then
  log "ERROR deploy/docker/.dockerignore and Dockerfile.dockerignore differ"
  status=1
fi

if [ "$status" -eq 0 ]; then
  log "validate: all overlays OK"
else
  log "validate: FAILED"
fi
exit "$status"
