"""deploy/docker-compose.yml holds together (no container engine runs on CI's machines, so the
stack itself is not started here): every file it builds from or mounts exists; Prometheus'
config (deploy/prometheus/prometheus.yml, valid per `promtool check config`) scrapes the compose
service `trimserve` on the port its image serves HTTP on; Grafana's provisioned datasource is the
compose service `prometheus`, and its dashboard provider reads the folder the dashboard
(deploy/grafana/trimserve.json) is mounted into; trimserve's grace period covers the drain.

Env: TRIMSERVE_SRC.
"""
import json
import os
import subprocess
import sys

import yaml

SRC = os.environ.get("TRIMSERVE_SRC", os.getcwd())
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
from checks import check, problems  # noqa: E402
from dockerfile import instructions  # noqa: E402

DEPLOY = os.path.join(SRC, "deploy")
compose = yaml.safe_load(open(os.path.join(DEPLOY, "docker-compose.yml")))
services = compose["services"]
check(set(services) == {"trimserve", "prometheus", "grafana"}, f"services: {sorted(services)}")


def mounts(service):
    """[(host path resolved from deploy/, container path)] of a service's bind mounts."""
    out = []
    for v in services[service].get("volumes", []):
        source, target = v.split(":")[:2]
        if source.startswith("."):
            out.append((os.path.normpath(os.path.join(DEPLOY, source)), target))
    return out


# trimserve: built from a Dockerfile of the repository; the image's CMD serves HTTP on 8080.
build = services["trimserve"]["build"]
dockerfile = build["dockerfile"].split(":-")[-1].rstrip("}")
check(os.path.isfile(os.path.join(DEPLOY, build["context"], dockerfile)), f"the compose build uses {dockerfile}")
cmds = [json.loads(a) for w, a in instructions(os.path.join(DEPLOY, build["context"], dockerfile)) if w == "CMD"]
cmd = cmds[-1] if cmds else None
http_port = cmd[cmd.index("--port") + 1] if cmd and "--port" in cmd else None
check(f"{http_port}:{http_port}" in services["trimserve"]["ports"], f"trimserve publishes its HTTP port {http_port}")
grace = services["trimserve"].get("stop_grace_period", "0s")
check(int(grace.rstrip("s")) > 30, f"stop_grace_period {grace} covers the default server.drain_timeout_s (30)")

# Prometheus: the mounted folder's config scrapes trimserve:<http port> and loads the rules.
prom_mounts = dict((t, s) for s, t in mounts("prometheus"))
check(prom_mounts.get("/etc/prometheus") == os.path.join(DEPLOY, "prometheus"), f"prometheus mounts deploy/prometheus: {prom_mounts}")
prom = yaml.safe_load(open(os.path.join(DEPLOY, "prometheus", "prometheus.yml")))
targets = [t for sc in prom["scrape_configs"] for st in sc.get("static_configs", []) for t in st["targets"]]
check(targets == [f"trimserve:{http_port}"], f"prometheus scrapes the compose service: {targets}")
check(prom.get("rule_files") == ["rules.yml"], "prometheus loads rules.yml beside its config")
p = subprocess.run(["promtool", "check", "config", os.path.join(DEPLOY, "prometheus", "prometheus.yml")],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
check(p.returncode == 0, f"promtool check config: {p.stdout}")
print(p.stdout.strip())

# Grafana: provisioning from deploy/grafana/provisioning, the dashboard where the provider looks.
graf = dict((t, s) for s, t in mounts("grafana"))
for source in graf.values():
    check(os.path.exists(source), f"grafana mounts {source}, which exists")
prov = graf.get("/etc/grafana/provisioning")
ds = yaml.safe_load(open(os.path.join(prov, "datasources", "prometheus.yml")))["datasources"][0]
check(ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090", f"datasource: {ds}")
provider = yaml.safe_load(open(os.path.join(prov, "dashboards", "trimserve.yml")))["providers"][0]
dash_target = next((t for t, s in graf.items() if s.endswith("trimserve.json")), "")
check(os.path.dirname(dash_target) == provider["options"]["path"], f"dashboard mounted at {dash_target}, provider reads {provider['options']['path']}")
check(graf.get(dash_target) == os.path.join(DEPLOY, "grafana", "trimserve.json"), "the mounted dashboard is deploy/grafana/trimserve.json")

if problems:
    sys.exit(1)
print("compose_file_test: ok")
