#!/usr/bin/env python3
"""The Kubernetes half of deploy/check.sh: static checks of deploy/k8s/*.yaml.

Usage: check-k8s.py DIR GRACE_S         prints one line per check: "ok|NAME" or "fail|NAME|WHY"
       check-k8s.py DIR --flags         prints each `runbox serve` flag the manifests use
GRACE_S: runbox serve's shutdown grace in seconds (SHUTDOWN_GRACE_MS in src/server/server.c).
Needs PyYAML (Debian: python3-yaml). No network, no cluster."""
import json
import os
import sys

import yaml

NS = "runbox"
RESULTS = []


def report(name, ok, why=""):
    RESULTS.append(("ok|" + name) if ok else ("fail|%s|%s" % (name, why)))


def check(name, fn):
    """Run fn(); it returns None when the check passes, else why it failed."""
    try:
        why = fn()
    except Exception as e:  # a missing key is a failure, with the key named
        why = "%s: %s" % (type(e).__name__, e)
    report(name, why is None, why or "")


def load(d):
    docs, errors = {}, {}
    for f in sorted(os.listdir(d)):
        if not f.endswith((".yaml", ".yml")):
            continue
        try:
            with open(os.path.join(d, f)) as fh:
                docs[f] = [x for x in yaml.safe_load_all(fh) if x is not None]
        except Exception as e:
            errors[f] = str(e).replace("\n", " ")
    return docs, errors


def objects(docs):
    return [o for f in sorted(docs) if f != "kustomization.yaml" for o in docs[f]]


def one(objs, kind, name=None):
    found = [o for o in objs if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)]
    if len(found) != 1:
        raise LookupError("%d objects of kind %s%s" % (len(found), kind, " named " + name if name else ""))
    return found[0]


def containers(o):
    return o["spec"]["template"]["spec"]["containers"]


def runbox_args(c):
    """The container's `runbox serve` arguments (after "serve"), or None."""
    a = (c.get("command") or []) + (c.get("args") or [])
    if len(a) >= 2 and os.path.basename(a[0]) == "runbox" and a[1] == "serve":
        return a[2:]
    return None


def flag(args, name):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def port_of(c, port):
    """The containerPort that a probe's or Service's port (a number or a name) means."""
    for p in c.get("ports") or []:
        if port in (p.get("name"), p.get("containerPort")):
            return p["containerPort"]
    return port if isinstance(port, int) else None


def probe_checks(name, o, role_port):
    c = containers(o)[0]
    for kind in ("readinessProbe", "livenessProbe"):
        p = c[kind]["httpGet"]
        if p["path"] != "/healthz":
            return "%s: %s is %s, not /healthz" % (name, kind, p["path"])
        if port_of(c, p["port"]) != role_port:
            return "%s: %s probes port %s, the node listens on %s" % (name, kind, p["port"], role_port)
    return None


def main():
    d = sys.argv[1]
    docs, errors = load(d)
    objs = objects(docs)

    if sys.argv[2] == "--flags":
        for o in objs:
            if o.get("kind") in ("Deployment", "DaemonSet", "StatefulSet"):
                for c in containers(o):
                    for a in runbox_args(c) or []:
                        if a.startswith("--"):
                            print(a.split("=", 1)[0])
        return
    grace = float(sys.argv[2])

    for f in sorted(set(docs) | set(errors)):
        report("%s parses as YAML" % f, f not in errors, errors.get(f, ""))

    def kinds():
        want = {"Namespace", "Secret", "ConfigMap", "Deployment", "Service", "DaemonSet",
                "PodDisruptionBudget", "NetworkPolicy"}
        missing = want - {o.get("kind") for o in objs}
        return "missing kinds: %s" % ", ".join(sorted(missing)) if missing else None
    check("every kind is there (Namespace, Secret, ConfigMap, Deployment, Service, DaemonSet, PDB, NetworkPolicy)", kinds)

    def namespaces():
        bad = ["%s/%s" % (o["kind"], o["metadata"]["name"]) for o in objs
               if o["kind"] != "Namespace" and o["metadata"].get("namespace") != NS]
        ns = one(objs, "Namespace")["metadata"]["name"]
        if ns != NS:
            return "the Namespace is %s, not %s" % (ns, NS)
        return "not in namespace %s: %s" % (NS, ", ".join(bad)) if bad else None
    check("every object is in namespace runbox", namespaces)

    def images():
        imgs = {c["image"] for o in objs if o["kind"] in ("Deployment", "DaemonSet") for c in containers(o)}
        if len(imgs) != 1:
            return "API and worker pods must run one image, found: %s" % sorted(imgs)
        img = imgs.pop()
        tag = img.rsplit("/", 1)[-1]
        if ":" not in tag and "@" not in img:
            return "%s has no tag" % img
        if tag.endswith(":latest"):
            return "%s: pin a version, not latest" % img
        return None
    check("one pinned image for API and worker pods", images)

    api = lambda: one(objs, "Deployment", "runbox-api")
    worker = lambda: one(objs, "DaemonSet", "runbox-worker")

    def api_role():
        a = runbox_args(containers(api())[0])
        if a is None or flag(a, "--role") != "api":
            return "the API Deployment's container is not `runbox serve --role api`: %s" % a
        if (api()["spec"].get("replicas") or 1) < 2:
            return "replicas: %s, want 2 or more" % api()["spec"].get("replicas")
        return None
    check("API Deployment: runbox serve --role api, 2 replicas or more", api_role)

    def api_probes():
        a = runbox_args(containers(api())[0])
        return probe_checks("API", api(), int(flag(a, "--listen").rsplit(":", 1)[1]))
    check("API Deployment: readiness and liveness on /healthz at its --listen port", api_probes)

    def api_unprivileged():
        o = api()
        c = containers(o)[0]
        sc, psc = c.get("securityContext", {}), o["spec"]["template"]["spec"].get("securityContext", {})
        if sc.get("privileged") or not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            return "API pods run no code: they should be non-root and unprivileged"
        if "ALL" not in (sc.get("capabilities", {}).get("drop") or []):
            return "API pods should drop all capabilities"
        r = c["resources"]
        if not r.get("requests") or not r.get("limits", {}).get("memory"):
            return "API pods need resource requests and a memory limit"
        return None
    check("API Deployment: non-root, no capabilities, resources set", api_unprivileged)

    def worker_role():
        a = runbox_args(containers(worker())[0])
        if a is None or flag(a, "--role") != "worker":
            return "the worker DaemonSet's container is not `runbox serve --role worker`: %s" % a
        return probe_checks("worker", worker(), int(flag(a, "--listen").rsplit(":", 1)[1]))
    check("worker DaemonSet: runbox serve --role worker, probes on /healthz at its --listen port", worker_role)

    def worker_privileges():
        o = worker()
        spec = o["spec"]["template"]["spec"]
        sc = containers(o)[0]["securityContext"]
        if sc.get("privileged") is not True:
            return "the sandbox needs privileged: true (namespaces, mounts, a writable /sys/fs/cgroup)"
        if sc.get("seccompProfile", {}).get("type") != "Unconfined":
            return "seccompProfile must be Unconfined (runbox installs its own filter per box)"
        if sc.get("appArmorProfile", {}).get("type") != "Unconfined":
            return "appArmorProfile must be Unconfined (the default profile denies mount)"
        if spec.get("hostPID") or spec.get("hostNetwork") or spec.get("hostIPC"):
            return "hostPID/hostNetwork/hostIPC are not needed and must stay off"
        if sc.get("runAsUser", 0) != 0:
            return "the sandbox needs root"
        return None
    check("worker DaemonSet: privileged, seccomp and AppArmor unconfined, no host namespaces", worker_privileges)

    def worker_dedicated():
        spec = worker()["spec"]["template"]["spec"]
        sel = spec.get("nodeSelector") or {}
        tol = spec.get("tolerations") or []
        if not sel:
            return "no nodeSelector: untrusted code could land on any node"
        if not any(t.get("effect") == "NoSchedule" for t in tol):
            return "no toleration of a NoSchedule taint: the dedicated nodes cannot be tainted"
        return None
    check("worker DaemonSet: only on dedicated (labelled, tainted) nodes", worker_dedicated)

    def lease_seconds():
        cm = one(objs, "ConfigMap", "runbox-config")
        return json.loads(cm["data"]["config.json"]).get("server", {}).get("lease_seconds", 30)

    def worker_grace():
        t = worker()["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        need = grace + 2 * lease_seconds() / 3
        if t < need + 5:
            return "terminationGracePeriodSeconds %s < %g s of grace + 2/3 of the %s s lease + 5" % (
                t, grace, lease_seconds())
        return None
    check("worker DaemonSet: termination grace covers the shutdown grace and the lease fence", worker_grace)

    def db_from_secret():
        sec = one(objs, "Secret")
        keys = set((sec.get("stringData") or {}).keys()) | set((sec.get("data") or {}).keys())
        for o in (api(), worker()):
            for c in containers(o):
                env = {e["name"]: e for e in c.get("env") or []}
                ref = env.get("RUNBOX_DB", {}).get("valueFrom", {}).get("secretKeyRef")
                if not ref:
                    return "%s: RUNBOX_DB does not come from a Secret" % o["metadata"]["name"]
                if ref["name"] != sec["metadata"]["name"] or ref["key"] not in keys:
                    return "%s: RUNBOX_DB refers to %s/%s, the Secret is %s with %s" % (
                        o["metadata"]["name"], ref["name"], ref["key"], sec["metadata"]["name"], sorted(keys))
                a = runbox_args(c)
                if flag(a, "--db"):
                    return "%s: --db on the command line shows the password in ps" % o["metadata"]["name"]
        return None
    check("API and worker pods: RUNBOX_DB from the Secret, not on the command line", db_from_secret)

    def config_mount():
        cm = one(objs, "ConfigMap", "runbox-config")
        json.loads(cm["data"]["config.json"])
        for o in (api(), worker()):
            c = containers(o)[0]
            path = flag(runbox_args(c), "--config")
            vols = {v["name"]: v for v in o["spec"]["template"]["spec"]["volumes"]}
            mounts = [m for m in c.get("volumeMounts") or []
                      if vols.get(m["name"], {}).get("configMap", {}).get("name") == "runbox-config"]
            if not path or not mounts or os.path.join(mounts[0]["mountPath"], "config.json") != path:
                return "%s: --config %s is not where runbox-config is mounted" % (o["metadata"]["name"], path)
        return None
    check("ConfigMap: config.json is JSON and mounted where --config points", config_mount)

    def service():
        s = one(objs, "Service", "runbox-api")
        labels = api()["spec"]["template"]["metadata"]["labels"]
        if not matches(s["spec"]["selector"], labels):
            return "the Service's selector does not select the API pods"
        c = containers(api())[0]
        for p in s["spec"]["ports"]:
            listen = int(flag(runbox_args(c), "--listen").rsplit(":", 1)[1])
            if port_of(c, p.get("targetPort", p["port"])) != listen:
                return "the Service's targetPort %s is not the API's port %s" % (p.get("targetPort"), listen)
        return None
    check("Service: selects the API pods, targets their port", service)

    def pdb():
        p = one(objs, "PodDisruptionBudget")
        if not matches(p["spec"]["selector"]["matchLabels"], api()["spec"]["template"]["metadata"]["labels"]):
            return "the PodDisruptionBudget does not select the API pods"
        if "minAvailable" not in p["spec"] and "maxUnavailable" not in p["spec"]:
            return "no minAvailable or maxUnavailable"
        return None
    check("PodDisruptionBudget: covers the API pods", pdb)

    def netpol():
        labels = worker()["spec"]["template"]["metadata"]["labels"]
        pols = [o for o in objs if o["kind"] == "NetworkPolicy" and matches(o["spec"]["podSelector"].get("matchLabels"), labels)]
        if not pols:
            return "no NetworkPolicy selects the worker pods"
        for p in pols:
            types = p["spec"].get("policyTypes") or []
            if "Egress" not in types or "Ingress" not in types:
                return "%s: policyTypes must include Ingress and Egress" % p["metadata"]["name"]
            ports = set()
            for rule in p["spec"].get("egress") or []:
                if not rule.get("to") or not rule.get("ports"):
                    return "%s: an egress rule open to everywhere or every port" % p["metadata"]["name"]
                ports |= {x["port"] for x in rule["ports"]}
            if 5432 not in ports or ports - {5432, 53}:
                return "%s: worker egress must be PostgreSQL (5432) and DNS (53) only, is %s" % (
                    p["metadata"]["name"], sorted(ports))
        return None
    check("NetworkPolicy: worker pods reach PostgreSQL and DNS only", netpol)

    def kustomization():
        k = docs.get("kustomization.yaml")
        if not k:
            return "no kustomization.yaml"
        res = set(k[0]["resources"])
        want = {f for f in docs if f not in ("kustomization.yaml",) and not f.endswith(".example.yaml")}
        missing, extra = want - res, res - set(docs)
        if missing or extra:
            return "kustomization.yaml: missing %s, not there %s" % (sorted(missing), sorted(extra))
        return None
    check("kustomization.yaml lists every manifest but the Secret example", kustomization)

    print("\n".join(RESULTS))


if __name__ == "__main__":
    main()
