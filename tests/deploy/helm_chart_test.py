"""The Helm chart (deploy/helm/trimserve), linted, rendered and checked object by object:

- `helm lint --strict` passes with the default values, with ci/full-values.yaml (every optional
  feature on) and with KEDA instead of the HPA;
- the rendered objects are exactly the expected kinds for each values set;
- the Deployment has what production needs: GPU resources, scheduling constraints, a non-root
  read-only security context, /health liveness + startup and /ready readiness probes, a preStop
  wait and a termination grace period covering the daemon's drain; the Service exposes HTTP and
  gRPC with appProtocol; the Ingresses hash on X-Session-Id (session affinity) and speak gRPC;
  the HPA scales on waiting requests; the ServiceMonitor scrapes /metrics; the PrometheusRule
  and the dashboard ConfigMap carry deploy/prometheus/rules.yml and deploy/grafana/trimserve.json;
- values.schema.json and the templates refuse bad values with a message naming the value;
- the daemon config the chart renders is one the daemon accepts: it is started with the rendered
  ConfigMap and the Secret's key files (mount paths mapped to a temporary folder, the model cache
  holding the embedded model), serves the tenant keys from the Secret, and drains on SIGTERM.

helm comes from deploy/install-deps.sh (build-tools/bin/helm), or $HELM.
Env: TRIMSERVE_SRC, TRIMSERVE_BIN.
"""
import json
import os
import subprocess
import sys
import tempfile

import yaml

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems, wait_for  # noqa: E402
from daemon import BIN, Daemon  # noqa: E402
from daemon_http import call  # noqa: E402

CHART = os.path.join(SRC, "deploy", "helm", "trimserve")
FULL = os.path.join(CHART, "ci", "full-values.yaml")
HELM = os.environ.get("HELM", os.path.join(SRC, "build-tools", "bin", "helm"))
if not os.access(HELM, os.X_OK):
    sys.exit(f"FAILED: no helm at {HELM}: run deploy/install-deps.sh (or set HELM)")


def helm(*args):
    return subprocess.run([HELM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def render(*args):
    """{(kind, name): object} of `helm template` with these extra arguments."""
    p = helm("template", "rel", CHART, "--namespace", "llm", *args)
    if not check(p.returncode == 0, f"helm template {' '.join(args)}: {p.stderr}"):
        return {}
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(p.stdout) if o}


def one(objects, kind):
    found = [o for (k, _), o in objects.items() if k == kind]
    check(len(found) == 1, f"one {kind} expected, found {len(found)}")
    return found[0] if found else {}


# -- lint
for label, args in (("defaults", []), ("full", ["-f", FULL]),
                    ("keda", ["-f", FULL, "--set", "autoscaling.enabled=false,keda.enabled=true"])):
    p = helm("lint", "--strict", CHART, *args)
    check(p.returncode == 0 and "0 chart(s) failed" in p.stdout, f"helm lint --strict ({label}): {p.stdout}{p.stderr}")
    print(f"helm lint --strict ({label}): {p.stdout.strip().splitlines()[-1]}")

# -- which objects
defaults = render()
full = render("-f", FULL)
keda = render("-f", FULL, "--set", "autoscaling.enabled=false,keda.enabled=true")
base_kinds = ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]
full_kinds = sorted(base_kinds + ["ConfigMap", "HorizontalPodAutoscaler", "Ingress", "Ingress",
                                  "PersistentVolumeClaim", "PrometheusRule", "Secret", "ServiceMonitor"])
check(sorted(k for k, _ in defaults) == base_kinds, f"default objects: {sorted(defaults)}")
check(sorted(k for k, _ in full) == full_kinds, f"full objects: {sorted(full)}")
check(sorted(k for k, _ in keda) == sorted([k for k in full_kinds if k != "HorizontalPodAutoscaler"] + ["ScaledObject"]),
      f"keda objects: {sorted(keda)}")
print("rendered (full values):")
for kind, name in sorted(full):
    print(f"  {kind:24} {name}")

# -- the Deployment
values = yaml.safe_load(open(FULL))
drain = values["config"]["server"]["drain_timeout_s"]
dep = one(full, "Deployment")
pod = dep.get("spec", {}).get("template", {}).get("spec", {})
c = pod.get("containers", [{}])[0]
check(c.get("image") == "registry.example.com/ml/trimserve:0.1.0", f"image {c.get('image')}")
check(c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu") == 1, f"GPU limit: {c.get('resources')}")
check(pod.get("nodeSelector") == values["nodeSelector"], "nodeSelector")
check(pod.get("tolerations") == values["tolerations"], "tolerations")
check(pod.get("affinity") == values["affinity"], "affinity")
psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 10001, f"pod security context {psc}")
check(csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
      and csc.get("capabilities", {}).get("drop") == ["ALL"], f"container security context {csc}")
check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/health", "liveness probe on /health")
check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/ready", "readiness probe on /ready")
startup = c.get("startupProbe", {})
check(startup.get("httpGet", {}).get("path") == "/health" and
      startup.get("periodSeconds", 0) * startup.get("failureThreshold", 0) >= 300,
      f"startup probe allows minutes for the model load: {startup}")
pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
check(pre_stop[:1] == ["/bin/sleep"], f"preStop waits: {pre_stop}")
grace = pod.get("terminationGracePeriodSeconds", 0)
check(grace >= drain + int(pre_stop[-1] if pre_stop else 0) + 5,
      f"terminationGracePeriodSeconds {grace} covers preStop + drain_timeout_s {drain}")
check({p["name"]: p["containerPort"] for p in c.get("ports", [])} == {"http": 8080, "grpc": 50051}, "container ports")
mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
volumes = {v["name"]: v for v in pod.get("volumes", [])}
check(c.get("args", [])[-1:] == [mounts.get("config", {}).get("mountPath")], f"--config is the mounted ConfigMap: {c.get('args')}")
check(volumes.get("data", {}).get("persistentVolumeClaim", {}).get("claimName") == "rel-trimserve", "data volume is the PVC")
check(volumes.get("api-keys", {}).get("secret", {}).get("secretName") == "rel-trimserve-api-keys", "keys volume is the Secret")
check(all(m in mounts for m in ("tmp", "data", "api-keys")), f"mounts: {sorted(mounts)}")
check(dep.get("spec", {}).get("replicas") is None, "replicas left to the HPA")
check(defaults.get(("Deployment", "rel-trimserve"), {}).get("spec", {}).get("replicas") == 1, "default replicas")
ann = dep.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
check("checksum/config" in ann and "checksum/api-keys" in ann, "config and key checksums roll the pods")
default_c = defaults.get(("Deployment", "rel-trimserve"), {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
check(default_c.get("image", "").endswith(":0.1.0"), f"default image is the GPU one: {default_c.get('image')}")
cpu = render("--set", "gpu.enabled=false")
cpu_c = cpu.get(("Deployment", "rel-trimserve"), {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
check(cpu_c.get("image", "").endswith(":0.1.0-cpu") and "nvidia.com/gpu" not in str(cpu_c.get("resources")),
      f"gpu.enabled=false: the CPU image and no GPU: {cpu_c.get('image')} {cpu_c.get('resources')}")

# -- Service, Ingresses, HPA, KEDA, PDB, PVC, monitoring
svc = one(full, "Service")
ports = {p["name"]: p for p in svc.get("spec", {}).get("ports", [])}
check(ports.get("http", {}).get("appProtocol") == "http" and ports.get("grpc", {}).get("appProtocol") == "kubernetes.io/h2c",
      f"Service ports and appProtocol: {ports}")
http_ing = full.get(("Ingress", "rel-trimserve"), {})
grpc_ing = full.get(("Ingress", "rel-trimserve-grpc"), {})
check(http_ing.get("metadata", {}).get("annotations", {}).get("nginx.ingress.kubernetes.io/upstream-hash-by") == "$http_x_session_id",
      "HTTP ingress hashes on X-Session-Id")
check(grpc_ing.get("metadata", {}).get("annotations", {}).get("nginx.ingress.kubernetes.io/backend-protocol") == "GRPC",
      "gRPC ingress speaks gRPC to the backend")
check(grpc_ing.get("spec", {}).get("rules", [{}])[0].get("http", {}).get("paths", [{}])[0]
      .get("backend", {}).get("service", {}).get("port", {}).get("name") == "grpc", "gRPC ingress targets the grpc port")
check(http_ing.get("spec", {}).get("tls", [{}])[0].get("secretName") == "trimserve-tls", "HTTP ingress TLS")
hpa = one(full, "HorizontalPodAutoscaler").get("spec", {})
metrics = {m["type"]: m for m in hpa.get("metrics", [])}
check(metrics.get("Pods", {}).get("pods", {}).get("metric", {}).get("name") == "vllm_num_requests_waiting",
      f"HPA scales on waiting requests: {hpa.get('metrics')}")
check(metrics.get("Resource", {}).get("resource", {}).get("name") == "cpu", "HPA on CPU too")
check((hpa.get("minReplicas"), hpa.get("maxReplicas")) == (2, 8), "HPA bounds")
so = one(keda, "ScaledObject").get("spec", {})
trigger = so.get("triggers", [{}])[0]
check(trigger.get("type") == "prometheus" and "vllm:num_requests_waiting" in trigger.get("metadata", {}).get("query", ""),
      f"KEDA trigger: {trigger}")
check(one(full, "PodDisruptionBudget").get("spec", {}).get("minAvailable") == 1, "PDB minAvailable")
check(one(full, "PersistentVolumeClaim").get("spec", {}).get("resources", {}).get("requests", {}).get("storage") == "50Gi", "PVC size")
check(one(full, "ServiceAccount").get("automountServiceAccountToken") is False, "no service account token")
sm = one(full, "ServiceMonitor")
check(sm.get("spec", {}).get("endpoints", [{}])[0].get("path") == "/metrics" and
      sm.get("metadata", {}).get("labels", {}).get("release") == "prometheus", f"ServiceMonitor: {sm.get('spec')}")
rules = yaml.safe_load(open(os.path.join(SRC, "deploy", "prometheus", "rules.yml")))
pr = one(full, "PrometheusRule")
check(pr.get("spec", {}).get("groups") == rules["groups"], "PrometheusRule carries deploy/prometheus/rules.yml")
alerts = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
print(f"PrometheusRule: {len(rules['groups'])} groups, alerts: {', '.join(alerts)}")
dash = full.get(("ConfigMap", "rel-trimserve-dashboard"), {})
check(dash.get("metadata", {}).get("labels", {}).get("grafana_dashboard") == "1", "dashboard ConfigMap has the sidecar label")
with open(os.path.join(SRC, "deploy", "grafana", "trimserve.json")) as f:
    check(json.loads(dash.get("data", {}).get("trimserve.json", "null")) == json.load(f),
          "dashboard ConfigMap carries deploy/grafana/trimserve.json")

# -- the chart's README documents every value (maps of free-form keys count as one value)
OPAQUE = {"annotations", "labels", "resources", "podSecurityContext", "securityContext", "config", "keys",
          "nodeSelector", "affinity", "commonLabels", "podAnnotations", "podLabels", "behavior"}


def leaves(d, prefix=""):
    for k, v in d.items():
        path = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and v and k not in OPAQUE:
            yield from leaves(v, path)
        else:
            yield path


readme = open(os.path.join(CHART, "README.md")).read()
undocumented = [p for p in leaves(yaml.safe_load(open(os.path.join(CHART, "values.yaml")))) if f"| `{p}` |" not in readme]
check(not undocumented, f"values missing from the chart README's table: {undocumented}")

# -- bad values are refused, naming the value
for args, expect in (
        (["--set", "replicaCount=-1"], "replicaCount"),
        (["--set", "gpu.count=two"], "/gpu/count"),
        (["--set", "replicass=2"], "replicass"),
        (["--set", "config.server.port=9000"], "port"),
        (["--set", "tenants[0].name=team-x"], 'tenant "team-x" has no keys'),
        (["--set", "autoscaling.enabled=true,keda.enabled=true"], "exclusive"),
        (["--set", "autoscaling.enabled=true,autoscaling.customMetric.enabled=false"], "needs a target"),
        (["--set", "tenants[0].name=bad name"], "tenants")):
    p = helm("template", "rel", CHART, *args)
    check(p.returncode != 0 and expect in p.stderr, f"helm template {args}: expected an error naming {expect!r}: {p.stderr}")

# -- the rendered config runs the daemon
cfg_text = full.get(("ConfigMap", "rel-trimserve"), {}).get("data", {}).get("trimserve.yaml", "")
check(cfg_text, "the daemon's ConfigMap holds trimserve.yaml")
secret = one(full, "Secret").get("stringData", {})
with tempfile.TemporaryDirectory() as tmp:
    keys_dir, data_dir = os.path.join(tmp, "api-keys"), os.path.join(tmp, "data")
    os.makedirs(keys_dir)
    os.makedirs(os.path.join(data_dir, "models"))
    os.symlink(os.path.join(SRC, "deploy", "models", "trimchat-6m"), os.path.join(data_dir, "models", "trimchat-6m"))
    for tenant, keys in secret.items():
        with open(os.path.join(keys_dir, tenant), "w") as f:
            f.write(keys)
    cfg = cfg_text.replace("/etc/trimserve/api-keys", keys_dir).replace("/var/lib/trimserve", data_dir)
    path = os.path.join(tmp, "trimserve.yaml")
    with open(path, "w") as f:
        f.write(cfg)
    daemon = Daemon(tmp, argv=[BIN, "serve", "--config", path, "--host", "127.0.0.1", "--port", "0", "--grpc-port", "0"])
    port = daemon.port
    check(any("model loaded from " + os.path.join(data_dir, "models", "trimchat-6m") in ln for ln in daemon.log),
          "the model came from the model cache path")
    status, _, body = call(port, "GET", "/v1/models", key="sk-team-a-2")
    check(status == 200 and '"trimchat"' in body, f"/v1/models with a key from the Secret: {status} {body}")
    status, _, _ = call(port, "GET", "/v1/models")
    check(status == 401, f"no key: {status}")
    status, _, body = call(port, "POST", "/v1/chat/completions", key="sk-team-b-1", body={
        "model": "trimchat", "messages": [{"role": "user", "content": "My locker code is 4417."}], "max_tokens": 4},
        headers={"X-Session-Id": "s1"})
    check(status == 200, f"a session turn for team-b: {status} {body}")
    sessions_dir = os.path.join(data_dir, "sessions")
    # The engine loop writes the file after the turn's last token, not before the reply.
    check(wait_for(lambda: os.path.isdir(sessions_dir) and any(os.scandir(sessions_dir)), 10),
          "the session was written to the volume's session dir")
    print("daemon on the rendered config: /v1/models 200 with a Secret key, 401 without, a session turn saved under sessions/")
    check(daemon.stop() == 0, "exit 0 after SIGTERM")

if problems:
    sys.exit(1)
print("helm_chart_test: ok")
