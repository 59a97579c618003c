#!/usr/bin/env python3
"""Offline checks of one rendered overlay (a JSON list of objects, as written by
deploy/render-json.sh):

1. OpenAPI schema validation of every object with kubernetes-validate, in strict
   mode (unknown fields are errors), against every Kubernetes minor version from
   --min-version to the newest the package knows. An object whose kind has no
   schema is an error too.
2. Cross-object consistency that the schemas cannot see: references to
   ConfigMaps, Secrets and keys; Service selectors and target ports; probe
   ports; HPA and PDB targets; Ingress backends; the pod security settings
   Brigade promises (init containers included); every pod covered by a
   NetworkPolicy; every Deployment of a service that migrates a database has
   an init container running the same binary with --migrate-only and the same
   image, environment and volume mounts as the server.
3. With --dockerfile: every container and init container running a Brigade
   binary names, as command[0], the ENTRYPOINT of the Dockerfile target its
   image is built from (image "brigade-<target>" or ".../<target>"), and
   every Dockerfile target is run by some container.

Usage: check_manifests.py RENDERED.json --overlay NAME [--min-version 1.29]
                          [--external-secret NAME ...] [--dockerfile PATH]
Exit status 0 when everything passes, 1 otherwise (every problem is printed).
"""

from __future__ import annotations

import argparse
import functools
import json
import posixpath
import re
import sys

import kubernetes_validate
from kubernetes_validate import utils as kv_utils

# The schemas are re-read for every object otherwise.
kv_utils.schema_contents = functools.lru_cache(maxsize=None)(kv_utils.schema_contents)

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}

# Binaries that apply database migrations at start-up and accept --migrate-only;
# their Deployments must run that step as an init container first.
MIGRATING_BINARIES = {"brigade-job-queue", "brigade-recipe-types"}
MIGRATE_FLAG = "--migrate-only"
BRIGADE_BIN_DIR = "/usr/local/bin/"


def minor(v: str) -> tuple[int, int]:
    parts = v.lstrip("v").split(".")
    return int(parts[0]), int(parts[1])


def versions_from(min_version: str) -> list[str]:
    known = sorted({minor(v) for v in kv_utils.all_versions()})
    chosen = [f"{a}.{b}.0" for a, b in known if (a, b) >= minor(min_version)]
    if not chosen:
        raise SystemExit(f"kubernetes-validate knows no version >= {min_version}")
    return chosen


def name_of(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata'].get('name', '?')}"


def command_of(container: dict) -> list[str]:
    return list(container.get("command") or []) + list(container.get("args") or [])


def binary_of(container: dict) -> str | None:
    command = container.get("command") or []
    return posixpath.basename(command[0]) if command else None


def image_target(image: str) -> str:
    """The Dockerfile target an image is built from: "brigade-job-queue:dev"
    and "registry.example.com/brigade/job-queue:0.1.0" both give "job-queue"."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    last = last.split(":", 1)[0]
    return last.removeprefix("brigade-")


def dockerfile_entrypoints(path: str) -> dict[str, list[str]]:
    """Stage name -> exec-form ENTRYPOINT (inherited from a parent stage)."""
    entrypoints: dict[str, list[str]] = {}
    current: str | None = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", line, re.IGNORECASE)
            if m:
                parent, current = m.group(1), m.group(2)
                if current and parent in entrypoints:
                    entrypoints[current] = list(entrypoints[parent])
                continue
            m = re.match(r"\s*ENTRYPOINT\s+(.*)$", line, re.IGNORECASE)
            if m and current:
                try:
                    value = json.loads(m.group(1))
                except json.JSONDecodeError:
                    value = None
                if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
                    raise SystemExit(f"{path}: ENTRYPOINT of stage {current} is not in exec form: {line.strip()}")
                entrypoints[current] = value
    return entrypoints


def selector_matches(selector: dict, labels: dict) -> bool:
    match = (selector or {}).get("matchLabels", {}) or {}
    if (selector or {}).get("matchExpressions"):
        raise ValueError("matchExpressions are not checked by this script")
    return all(labels.get(k) == v for k, v in match.items())


class Checker:
    def __init__(self, objects: list[dict], external_secrets: set[str]):
        self.objects = objects
        self.external_secrets = external_secrets
        self.errors: list[str] = []
        self.by_kind: dict[str, dict[str, dict]] = {}
        for o in objects:
            self.by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def keys_of(self, kind: str, name: str) -> set[str] | None:
        obj = self.by_kind.get(kind, {}).get(name)
        if obj is None:
            return None
        return set((obj.get("data") or {}).keys()) | set((obj.get("stringData") or {}).keys())

    def check_ref(self, where: str, kind: str, name: str, key: str | None, optional: bool) -> None:
        keys = self.keys_of(kind, name)
        if keys is None:
            if kind == "Secret" and name in self.external_secrets:
                return
            if not optional:
                self.error(where, f"{kind} {name!r} is not in the rendered output")
            return
        if key is not None and key not in keys and not optional:
            self.error(where, f"{kind} {name!r} has no key {key!r}")

    def workloads(self):
        for kind in WORKLOADS:
            yield from self.by_kind.get(kind, {}).values()

    @staticmethod
    def template(obj: dict) -> dict:
        return obj["spec"]["template"]

    def check_workload(self, obj: dict) -> None:
        where = name_of(obj)
        tpl = self.template(obj)
        labels = tpl.get("metadata", {}).get("labels", {})
        if obj["kind"] != "Job" and not selector_matches(obj["spec"].get("selector"), labels):
            self.error(where, "spec.selector does not match the pod template's labels")
        pod = tpl["spec"]
        psc = pod.get("securityContext", {}) or {}
        if pod.get("automountServiceAccountToken") is not False:
            self.error(where, "automountServiceAccountToken should be false")
        volumes = {v["name"]: v for v in pod.get("volumes", []) or []}
        for v in volumes.values():
            if "configMap" in v:
                self.check_ref(f"{where} volume {v['name']}", "ConfigMap", v["configMap"]["name"], None,
                               v["configMap"].get("optional", False))
            if "secret" in v:
                self.check_ref(f"{where} volume {v['name']}", "Secret", v["secret"]["secretName"], None,
                               v["secret"].get("optional", False))
        claims = {c["metadata"]["name"] for c in obj["spec"].get("volumeClaimTemplates", []) or []}
        inits = pod.get("initContainers") or []
        for c in inits + pod["containers"]:
            is_init = any(c is i for i in inits)
            cw = f"{where} {'init container' if is_init else 'container'} {c['name']}"
            sc = c.get("securityContext", {}) or {}
            if not (sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True):
                self.error(cw, "runAsNonRoot must be true")
            if sc.get("allowPrivilegeEscalation") is not False:
                self.error(cw, "allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                self.error(cw, "readOnlyRootFilesystem must be true")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                self.error(cw, "capabilities must drop ALL")
            seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            if seccomp != "RuntimeDefault":
                self.error(cw, "seccompProfile must be RuntimeDefault")
            res = c.get("resources", {}) or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        self.error(cw, f"resources.{part}.{r} is missing")
            for m in c.get("volumeMounts", []) or []:
                if m["name"] not in volumes and m["name"] not in claims:
                    self.error(cw, f"volumeMount {m['name']!r} has no volume")
            for e in c.get("env", []) or []:
                ref = e.get("valueFrom") or {}
                if "configMapKeyRef" in ref:
                    r = ref["configMapKeyRef"]
                    self.check_ref(f"{cw} env {e['name']}", "ConfigMap", r["name"], r["key"], r.get("optional", False))
                if "secretKeyRef" in ref:
                    r = ref["secretKeyRef"]
                    self.check_ref(f"{cw} env {e['name']}", "Secret", r["name"], r["key"], r.get("optional", False))
            for ef in c.get("envFrom", []) or []:
                if "configMapRef" in ef:
                    r = ef["configMapRef"]
                    self.check_ref(f"{cw} envFrom", "ConfigMap", r["name"], None, r.get("optional", False))
                if "secretRef" in ef:
                    r = ef["secretRef"]
                    self.check_ref(f"{cw} envFrom", "Secret", r["name"], None, r.get("optional", False))
            if is_init:
                continue
            ports = {p["containerPort"] for p in c.get("ports", []) or []}
            names = {p.get("name") for p in c.get("ports", []) or []}
            for kind in ("livenessProbe", "readinessProbe"):
                if kind not in c:
                    self.error(cw, f"{kind} is missing")
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                probe = c.get(kind)
                if not probe:
                    continue
                for handler in ("grpc", "httpGet", "tcpSocket"):
                    if handler in probe:
                        port = probe[handler]["port"]
                        if port not in ports and port not in names:
                            self.error(cw, f"{kind} port {port!r} is not a declared container port")

    def check_migration_step(self, obj: dict) -> None:
        """A Deployment whose server migrates a database runs the same binary
        with --migrate-only as an init container, configured identically."""
        if obj["kind"] != "Deployment":
            return
        where = name_of(obj)
        pod = self.template(obj)["spec"]
        inits = pod.get("initContainers") or []
        for c in pod["containers"]:
            if binary_of(c) not in MIGRATING_BINARIES:
                continue
            cw = f"{where} container {c['name']}"
            steps = [i for i in inits if MIGRATE_FLAG in command_of(i)]
            if not steps:
                self.error(cw, f"runs {binary_of(c)}, but no init container runs it with {MIGRATE_FLAG}")
                continue
            for i in steps:
                iw = f"{where} init container {i['name']}"
                if command_of(i) != command_of(c) + [MIGRATE_FLAG]:
                    self.error(iw, f"command+args {command_of(i)} should be the server's "
                                   f"{command_of(c)} plus {MIGRATE_FLAG}")
                for field in ("image", "env", "envFrom", "volumeMounts"):
                    if i.get(field) != c.get(field):
                        self.error(iw, f"{field} differs from container {c['name']}'s; the migration step "
                                       "must see exactly the server's configuration")
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    if probe in i:
                        self.error(iw, f"{probe} on a run-to-completion init container")
                if i.get("restartPolicy"):
                    self.error(iw, "restartPolicy makes it a sidecar; the migration step must run to completion")
            if "startupProbe" not in c:
                self.error(cw, "startupProbe is missing (the server still migrates, under a lock, at start-up)")
        for i in inits:
            if MIGRATE_FLAG in command_of(i) and binary_of(i) not in MIGRATING_BINARIES:
                self.error(f"{where} init container {i['name']}", f"{binary_of(i)} has no {MIGRATE_FLAG}")

    def check_entrypoints(self, entrypoints: dict[str, list[str]]) -> None:
        """Commands name the binary their image holds; every image is used."""
        used: set[str] = set()
        for w in self.workloads():
            pod = self.template(w)["spec"]
            for field, label in (("initContainers", "init container"), ("containers", "container")):
                for c in pod.get(field) or []:
                    command = c.get("command") or []
                    if not command or not command[0].startswith(BRIGADE_BIN_DIR + "brigade-"):
                        continue
                    cw = f"{name_of(w)} {label} {c['name']}"
                    target = image_target(c.get("image", ""))
                    if target not in entrypoints:
                        self.error(cw, f"image {c.get('image')!r} is no Dockerfile target "
                                       f"({sorted(t for t in entrypoints if t)})")
                        continue
                    used.add(target)
                    if entrypoints[target] != command[:1]:
                        self.error(cw, f"command[0] {command[0]!r} is not the ENTRYPOINT {entrypoints[target]} "
                                       f"of Dockerfile target {target!r}")
        for target, entrypoint in entrypoints.items():
            if entrypoint and entrypoint[0].startswith(BRIGADE_BIN_DIR + "brigade-") and target not in used:
                self.error(f"Dockerfile target {target}", f"no container runs its ENTRYPOINT {entrypoint}")

    def check_services(self) -> None:
        for svc in self.by_kind.get("Service", {}).values():
            where = name_of(svc)
            sel = svc["spec"].get("selector") or {}
            targets = [w for w in self.workloads()
                       if all(self.template(w).get("metadata", {}).get("labels", {}).get(k) == v for k, v in sel.items())]
            if not targets:
                self.error(where, f"selector {sel} matches no workload")
                continue
            for p in svc["spec"]["ports"]:
                tp = p.get("targetPort", p["port"])
                ok = False
                for w in targets:
                    for c in self.template(w)["spec"]["containers"]:
                        for cp in c.get("ports", []) or []:
                            if tp in (cp.get("name"), cp["containerPort"]):
                                ok = True
                if not ok:
                    self.error(where, f"targetPort {tp!r} is not a container port of {[name_of(w) for w in targets]}")

    def check_scaling(self) -> None:
        for hpa in self.by_kind.get("HorizontalPodAutoscaler", {}).values():
            ref = hpa["spec"]["scaleTargetRef"]
            if ref["name"] not in self.by_kind.get(ref["kind"], {}):
                self.error(name_of(hpa), f"scaleTargetRef {ref['kind']}/{ref['name']} is not rendered")
            if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
                self.error(name_of(hpa), "minReplicas > maxReplicas")
            target = self.by_kind.get(ref["kind"], {}).get(ref["name"])
            replicas = (target or {}).get("spec", {}).get("replicas")
            if replicas is not None and replicas != hpa["spec"].get("minReplicas", 1):
                self.error(name_of(hpa), f"{ref['kind']}/{ref['name']} pins replicas={replicas}, which fights the HPA")
        for pdb in self.by_kind.get("PodDisruptionBudget", {}).values():
            sel = pdb["spec"]["selector"]
            if not any(selector_matches(sel, self.template(w).get("metadata", {}).get("labels", {}))
                       for w in self.workloads()):
                self.error(name_of(pdb), "selector matches no workload")
        for w in self.workloads():
            labels = self.template(w).get("metadata", {}).get("labels", {})
            if w["kind"] == "Deployment":
                if not any(h["spec"]["scaleTargetRef"]["name"] == w["metadata"]["name"]
                           for h in self.by_kind.get("HorizontalPodAutoscaler", {}).values()):
                    self.error(name_of(w), "no HorizontalPodAutoscaler")
            if not any(selector_matches(p["spec"]["selector"], labels)
                       for p in self.by_kind.get("PodDisruptionBudget", {}).values()):
                self.error(name_of(w), "no PodDisruptionBudget")
            if not any(selector_matches(n["spec"]["podSelector"], labels)
                       and "Ingress" in n["spec"].get("policyTypes", [])
                       and "Egress" in n["spec"].get("policyTypes", [])
                       for n in self.by_kind.get("NetworkPolicy", {}).values()):
                self.error(name_of(w), "no NetworkPolicy restricts both its ingress and egress")

    def check_ingress(self) -> None:
        for ing in self.by_kind.get("Ingress", {}).values():
            for rule in ing["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    svc = path["backend"]["service"]
                    target = self.by_kind.get("Service", {}).get(svc["name"])
                    if target is None:
                        self.error(name_of(ing), f"backend Service {svc['name']!r} is not rendered")
                        continue
                    port = svc["port"]
                    if not any(port.get("name") == p.get("name") or port.get("number") == p["port"]
                               for p in target["spec"]["ports"]):
                        self.error(name_of(ing), f"backend port {port} is not a port of Service {svc['name']}")

    def run(self, entrypoints: dict[str, list[str]] | None = None) -> None:
        for w in self.workloads():
            self.check_workload(w)
            self.check_migration_step(w)
        if entrypoints is not None:
            self.check_entrypoints(entrypoints)
        self.check_services()
        self.check_scaling()
        self.check_ingress()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered")
    ap.add_argument("--overlay", required=True)
    ap.add_argument("--min-version", default="1.29")
    ap.add_argument("--external-secret", action="append", default=[])
    ap.add_argument("--dockerfile", help="check container commands against this Dockerfile's ENTRYPOINTs")
    args = ap.parse_args()
    with open(args.rendered, encoding="utf-8") as f:
        objects = json.load(f)
    failures = 0
    versions = versions_from(args.min_version)
    for obj in objects:
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                print(f"ERROR [{args.overlay}] {name_of(obj)} (Kubernetes {version}): {path}: {e.message}")
                failures += 1
            except kubernetes_validate.SchemaNotFoundError as e:
                print(f"ERROR [{args.overlay}] {name_of(obj)}: no schema: {e.message}")
                failures += 1
    checker = Checker(objects, set(args.external_secret))
    checker.run(dockerfile_entrypoints(args.dockerfile) if args.dockerfile else None)
    for e in checker.errors:
        print(f"ERROR [{args.overlay}] {e}")
    failures += len(checker.errors)
    span = f"{versions[0].rsplit('.', 1)[0]}..{versions[-1].rsplit('.', 1)[0]}"
    if failures:
        print(f"[{args.overlay}] {len(objects)} objects: {failures} problem(s)")
        return 1
    print(f"[{args.overlay}] {len(objects)} objects valid against Kubernetes {span} (strict), cross-references OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
