#!/usr/bin/env python3
"""A deliberately small kustomize: renders deploy/k8s overlays where no real
kustomize (kubectl >= 1.21 or a kustomize binary) is available.

It implements ONLY what Brigade's manifests use, and refuses anything else:

  * resources: YAML files (multi-document) and directories holding a
    kustomization.yaml (rendered recursively);
  * namespace: set on every namespaced object;
  * labels: pairs added to metadata.labels, with includeTemplates also to pod
    templates and StatefulSet volumeClaimTemplates (includeSelectors must be
    false: selectors are never touched);
  * patches: strategic-merge patches from files (path:) or inline (patch:),
    several documents per file, each matched to exactly one object by
    kind + metadata.name. Lists merge by key where Kubernetes defines one
    (containers/env/volumes by name, volumeMounts by mountPath, container ports
    by containerPort, Service ports by port); every other list is replaced;
    a null value deletes the key;
  * images: name -> newName / newTag / digest on containers and initContainers.

configMapGenerator, secretGenerator, components, replacements, JSON6902 patches,
name prefixes/suffixes and everything else are NOT implemented: an unknown
field in a kustomization.yaml is an error rather than a silent difference.
deploy/validate.sh renders with both this and real kustomize when it can and
fails if the results differ.

Usage: minikustomize.py DIR [--json]   (YAML on stdout, or a JSON list)
"""

from __future__ import annotations

import copy
import json
import os
import sys

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "patches", "images"}

# Kustomize's "legacy" output order; kinds not listed sort between, by name.
ORDER_FIRST = [
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap",
    "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
    "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]

CLUSTER_SCOPED = {
    "Namespace", "StorageClass", "CustomResourceDefinition", "PodSecurityPolicy", "ClusterRole",
    "ClusterRoleBinding", "PriorityClass", "PersistentVolume", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "IngressClass", "APIService", "RuntimeClass",
}

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
}


class RenderError(Exception):
    pass


def load_documents(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "metadata" not in d:
            raise RenderError(f"{path}: every document must be an object with kind and metadata")
    return docs


def merge_key_for(field: str, items: list) -> str | None:
    if field in MERGE_KEYS:
        return MERGE_KEYS[field]
    if field == "ports" and items and all(isinstance(i, dict) for i in items):
        if all("containerPort" in i for i in items):
            return "containerPort"
        if all("port" in i for i in items):
            return "port"
    return None


def strategic_merge(base, patch, field: str = ""):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, k)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(patch, list):
        key = merge_key_for(field, base + patch)
        if key is None:
            return copy.deepcopy(patch)
        out = [copy.deepcopy(i) for i in base]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                raise RenderError(f"patch list {field!r} needs {key!r} in every item")
            for i, existing in enumerate(out):
                if existing.get(key) == item[key]:
                    out[i] = strategic_merge(existing, item, field)
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def add_labels(obj: dict, pairs: dict, templates: bool) -> None:
    obj.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
    if not templates:
        return
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in POD_TEMPLATE_KINDS and "template" in spec:
        spec["template"].setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
    if kind == "CronJob":
        tpl = spec.get("jobTemplate", {})
        tpl.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        inner = tpl.get("spec", {}).get("template")
        if inner is not None:
            inner.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
    if kind == "StatefulSet":
        for claim in spec.get("volumeClaimTemplates", []) or []:
            claim.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def pod_specs(obj: dict) -> list[dict]:
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind == "Pod":
        return [spec]
    if kind in POD_TEMPLATE_KINDS:
        return [spec.get("template", {}).get("spec", {})]
    if kind == "CronJob":
        return [spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})]
    return []


def split_image(image: str) -> tuple[str, str]:
    """Returns (name, suffix) where suffix is ':tag', '@digest' or ''."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, "@" + digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, ""


def apply_images(obj: dict, images: list[dict]) -> None:
    for pod in pod_specs(obj):
        for field in ("initContainers", "containers"):
            for c in pod.get(field, []) or []:
                name, suffix = split_image(c.get("image", ""))
                for rule in images:
                    if rule.get("name") != name:
                        continue
                    unknown = set(rule) - {"name", "newName", "newTag", "digest"}
                    if unknown:
                        raise RenderError(f"images: unsupported fields {sorted(unknown)}")
                    new_name = rule.get("newName", name)
                    if "digest" in rule:
                        suffix = "@" + str(rule["digest"])
                    elif "newTag" in rule:
                        suffix = ":" + str(rule["newTag"])
                    c["image"] = new_name + suffix
                    break


def object_id(obj: dict) -> tuple[str, str]:
    return obj["kind"], obj["metadata"].get("name", "")


def render(directory: str) -> list[dict]:
    path = os.path.join(directory, "kustomization.yaml")
    if not os.path.exists(path):
        raise RenderError(f"{directory}: no kustomization.yaml")
    with open(path, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    unknown = set(k) - SUPPORTED
    if unknown:
        raise RenderError(f"{path}: minikustomize does not implement {sorted(unknown)}")

    objects: list[dict] = []
    for res in k.get("resources", []) or []:
        full = os.path.normpath(os.path.join(directory, res))
        if os.path.isdir(full):
            objects.extend(render(full))
        elif os.path.isfile(full):
            objects.extend(load_documents(full))
        else:
            raise RenderError(f"{path}: resource {res!r} not found")
    seen = set()
    for obj in objects:
        oid = object_id(obj)
        if oid in seen:
            raise RenderError(f"{path}: {oid[0]}/{oid[1]} is defined twice")
        seen.add(oid)

    for entry in k.get("patches", []) or []:
        unknown = set(entry) - {"path", "patch"}
        if unknown:
            raise RenderError(f"{path}: patches with {sorted(unknown)} are not implemented")
        if "path" in entry:
            docs = load_documents(os.path.join(directory, entry["path"]))
        else:
            docs = [d for d in yaml.safe_load_all(entry["patch"]) if d is not None]
        for patch in docs:
            target = object_id(patch)
            matches = [i for i, o in enumerate(objects) if object_id(o) == target]
            if len(matches) != 1:
                raise RenderError(f"{path}: patch for {target[0]}/{target[1]} matches {len(matches)} objects")
            i = matches[0]
            objects[i] = strategic_merge(objects[i], patch)

    for entry in k.get("labels", []) or []:
        unknown = set(entry) - {"pairs", "includeSelectors", "includeTemplates"}
        if unknown or entry.get("includeSelectors"):
            raise RenderError(f"{path}: labels supports only pairs, includeTemplates, includeSelectors: false")
        for obj in objects:
            add_labels(obj, dict(entry.get("pairs", {})), bool(entry.get("includeTemplates")))

    if k.get("images"):
        for obj in objects:
            apply_images(obj, k["images"])

    namespace = k.get("namespace")
    if namespace:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
    return objects


def sort_key(obj: dict):
    kind = obj["kind"]
    if kind in ORDER_FIRST:
        rank = ORDER_FIRST.index(kind)
    elif kind in ORDER_LAST:
        rank = 10_000 + ORDER_LAST.index(kind)
    else:
        rank = 1_000
    return (rank, kind, obj["metadata"].get("namespace", ""), obj["metadata"].get("name", ""))


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        objects = sorted(render(args[0]), key=sort_key)
    except (RenderError, OSError, yaml.YAMLError) as e:
        print(f"minikustomize: {e}", file=sys.stderr)
        return 1
    if "--json" in argv:
        json.dump(objects, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=True, default_flow_style=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
