"""deploy/helm/durable-agent: lint-clean, renders to valid Kubernetes objects
(kubernetes-validate --strict) with the default values and with every optional
feature on, and the rendered objects have the properties the chart promises."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest
import yaml
from deploy_support import (
    CHART,
    CHART_CI_VALUES,
    DOCKERFILE,
    REPO_ROOT,
    SETUP_SCRIPT,
    console_scripts,
    run,
    tool,
)

COMPONENTS = ("api", "worker-llm", "worker-tools")
RELEASE = "rel"
CONFIG = f"{RELEASE}-durable-agent-config"  # the settings ConfigMap
# The chart's defaults plus its required values (no bucket or no registry: the render fails).
BUCKET = "agent-objects"
REGISTRY = "registry.example.com/acme"
REQUIRED = ["--set", f"storage.bucket={BUCKET}", "--set", f"image.registry={REGISTRY}"]
# ... and each ci/<name>-values.yaml (all-features: every option on; keda: KEDA scaling)
VALUE_SETS = {
    "default": REQUIRED,
    **{
        p.name.removesuffix("-values.yaml"): ["-f", str(p)]
        for p in sorted(CHART.glob("ci/*-values.yaml"))
    },
}
assert "all-features" in VALUE_SETS and str(CHART_CI_VALUES) in VALUE_SETS["all-features"]
# Custom resources kubernetes-validate has no schema for (checked by hand below).
CRD_KINDS = ("ServiceMonitor", "ScaledObject", "HTTPRoute")
STORAGE_KEYS = ("STORAGE_S3_ACCESS_KEY_ID", "STORAGE_S3_SECRET_ACCESS_KEY")


def template(helm: str, *args: str) -> str:
    return run([helm, "template", RELEASE, str(CHART), "--namespace", "agents", *args]).stdout


def objects(manifest: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(manifest) if d]


def by_kind(objs: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def name(component: str) -> str:
    return f"{RELEASE}-durable-agent-{component}"


@pytest.fixture(scope="module")
def rendered(helm: str) -> dict[str, str]:
    return {key: template(helm, *args) for key, args in VALUE_SETS.items()}


@pytest.fixture(scope="module")
def default(rendered: dict[str, str]) -> list[dict]:
    return objects(rendered["default"])


@pytest.fixture(scope="module")
def full(rendered: dict[str, str]) -> list[dict]:
    return objects(rendered["all-features"])


def container_env(objs: list[dict], component: str) -> dict[str, object]:
    """The environment a component's container gets: its envFrom ConfigMaps
    resolved to their values, then its env (a Secret key as ("secret", name,
    key, optional))."""
    maps = by_kind(objs, "ConfigMap")
    (c,) = by_kind(objs, "Deployment")[name(component)]["spec"]["template"]["spec"]["containers"]
    env: dict[str, object] = {}
    for source in c.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
    for e in c.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        env[e["name"]] = (
            ("secret", ref["name"], ref["key"], ref.get("optional", False)) if ref else e["value"]
        )
    return env


def pod_specs(objs: list[dict]) -> dict[str, dict]:
    specs = {
        f"{o['kind']}/{o['metadata']['name']}": o["spec"]["template"]["spec"]
        for o in objs
        if o["kind"] in ("Deployment", "Job")
    }
    specs.update({f"Pod/{o['metadata']['name']}": o["spec"] for o in objs if o["kind"] == "Pod"})
    return specs


# --- helm lint / template / kubernetes-validate ----------------------------------


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_helm_lint_strict(helm: str, values: str) -> None:
    run([helm, "lint", "--strict", str(CHART), *VALUE_SETS[values]])


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_kubernetes_validate_strict(rendered: dict[str, str], values: str) -> None:
    proc = run([tool("kubernetes-validate"), "--strict", "-"], input=rendered[values])
    # The only things it may skip are the CRDs (checked below).
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.startswith(("WARN", "ERROR")):
            assert any(kind in line for kind in CRD_KINDS), line


def test_notes_render(helm: str) -> None:
    out = run([helm, "install", RELEASE, str(CHART), "--dry-run=client", *REQUIRED]).stdout
    notes = out.split("NOTES:", 1)[1]
    assert f"port-forward svc/{name('api')}" in notes
    assert f"s3://{BUCKET}" in notes and "lifecycle" in notes
    assert f"helm test {RELEASE}" in notes


@pytest.mark.parametrize(
    "bad",
    [
        "bogus=1",
        "api.replicaCount=-1",
        "securityContext.readOnlyRootFilesystem=false",
        "podSecurityContext.runAsNonRoot=false",
        "temporal.address=no-port",
        "workerLlm.autoscaling.enabled=maybe",
        "ingress.hosts[0].paths[0].pathType=Sometimes",
        "storage.bucket=Not_A_Bucket",
        "storage.s3.endpointUrl=minio:9000",
        "storage.payloadThresholdBytes=-1",
        "storage.s3.accessKeyIdKey=",
        "api.image.digest=latest",
        "api.lifecycle.preStp.exec.command={sleep}",
        "topologySpread.whenUnsatisfiable=Sometimes",
        "workerTools.extraVolumeMounts[0].name=x",
    ],
)
def test_values_schema_rejects(helm: str, bad: str) -> None:
    proc = run([helm, "template", RELEASE, str(CHART), *REQUIRED, "--set", bad], check=False)
    assert proc.returncode != 0 and "schema" in proc.stderr, proc.stderr


# --- workloads -------------------------------------------------------------------


def test_default_objects(default: list[dict]) -> None:
    kinds = sorted(o["kind"] for o in default)
    assert kinds.count("Deployment") == 3
    assert set(by_kind(default, "Deployment")) == {name(c) for c in COMPONENTS}
    assert "HorizontalPodAutoscaler" not in kinds and "Ingress" not in kinds
    assert "ServiceMonitor" not in kinds
    assert len(by_kind(default, "PodDisruptionBudget")) == 3
    # the settings, and the setup Job's script
    assert len(by_kind(default, "Secret")) == 1 and len(by_kind(default, "ConfigMap")) == 2


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_every_container_is_locked_down(rendered: dict[str, str], values: str) -> None:
    objs = objects(rendered[values])
    specs = pod_specs(objs)
    assert specs
    for where, spec in specs.items():
        pod_sc = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, where
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, where
            assert (sc.get("runAsUser") or pod_sc.get("runAsUser")) not in (None, 0), where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in tmp_volumes, f"{where}: /tmp is not an emptyDir"
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], where


# The setting that makes each component listen where its probes knock.
HEALTH_PORT_SETTING = {
    "api": "API_PORT",
    "worker-llm": "METRICS_PORT",
    "worker-tools": "METRICS_PORT",
}
LISTEN_SETTINGS = ("API_PORT", "METRICS_PORT", "TEMPORAL_METRICS_PORT")


def probe_port_problems(objs: list[dict]) -> list[str]:
    """Probes and container ports that do not match what the container's own
    settings make it listen on: a probe on a port nothing serves fails only
    once pods run (restart loop, or never Ready)."""
    problems = []
    for dname, dep in by_kind(objs, "Deployment").items():
        component = dname.removeprefix(f"{RELEASE}-durable-agent-")
        (c,) = dep["spec"]["template"]["spec"]["containers"]
        declared = {p["name"]: p["containerPort"] for p in c["ports"]}
        if component == "fake-llm":
            listening = {int(c["command"][c["command"].index("--port") + 1])}
            health = next(iter(listening))
        else:
            env = container_env(objs, component)
            listening = {int(env[s]) for s in LISTEN_SETTINGS if isinstance(env.get(s), str)}
            health = int(env[HEALTH_PORT_SETTING[component]])
        for pname, number in declared.items():
            if number not in listening:
                problems.append(f"{component}: port {pname}={number}, listens on {listening}")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe not in c:
                if probe != "startupProbe":
                    problems.append(f"{component}: no {probe}")
                continue
            port = c[probe]["httpGet"]["port"]
            number = declared.get(port) if isinstance(port, str) else port
            if number != health:
                problems.append(f"{component}: {probe} on {port} ({number}), health is on {health}")
    return problems


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_probes_hit_the_port_the_settings_make_it_listen_on(
    rendered: dict[str, str], values: str
) -> None:
    assert probe_port_problems(objects(rendered[values])) == []


@pytest.mark.parametrize(
    "wrong",
    [
        "workerLlm.livenessProbe.httpGet.port=9102",
        "workerTools.readinessProbe.httpGet.port=sdk-metrics",
        "api.readinessProbe.httpGet.port=metrics",
        "workerLlm.extraEnv[0].name=METRICS_PORT,workerLlm.extraEnv[0].value=9200",
    ],
)
def test_a_probe_on_a_wrong_port_is_caught(helm: str, wrong: str) -> None:
    assert probe_port_problems(objects(template(helm, *REQUIRED, "--set", wrong)))


def test_probe_paths(default: list[dict]) -> None:
    deps = by_kind(default, "Deployment")
    api = deps[name("api")]["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for worker in ("worker-llm", "worker-tools"):
        c = deps[name(worker)]["spec"]["template"]["spec"]["containers"][0]
        assert c["readinessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports == {"metrics": 9100, "sdk-metrics": 9101}
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["METRICS_PORT"] == "9100" and env["TEMPORAL_METRICS_PORT"] == "9101"


def test_commands_are_console_scripts(full: list[dict]) -> None:
    scripts = console_scripts()
    deps = by_kind(full, "Deployment")
    assert set(deps) == {name(c) for c in (*COMPONENTS, "fake-llm")}
    for dep in deps.values():
        for c in dep["spec"]["template"]["spec"]["containers"]:
            assert c["command"][0] in scripts, c["command"]


def test_each_component_gets_only_its_secrets(default: list[dict]) -> None:
    deps = by_kind(default, "Deployment")

    def secret_keys(component: str) -> set[str]:
        c = deps[name(component)]["spec"]["template"]["spec"]["containers"][0]
        return {e["name"] for e in c["env"] if "secretKeyRef" in e.get("valueFrom", {})}

    storage = set(STORAGE_KEYS)
    assert secret_keys("api") == {"REDIS_URL", "TEMPORAL_API_KEY", "API_KEYS", *storage}
    assert secret_keys("worker-llm") == {"REDIS_URL", "TEMPORAL_API_KEY", "LLM_API_KEY", *storage}
    assert secret_keys("worker-tools") == {"REDIS_URL", "TEMPORAL_API_KEY", *storage}


def test_existing_secret(helm: str) -> None:
    objs = objects(template(helm, *REQUIRED, "--set", "secrets.existingSecret=agent-secrets"))
    assert not by_kind(objs, "Secret")
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for spec in pod_specs(objs).values()
        for c in spec["containers"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert refs == {"agent-secrets"}


def test_config_map_holds_valid_settings(
    default: list[dict], full: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ConfigMap key is a real setting, and the services accept the values."""
    from agent_core.settings import Settings

    fields = {f.upper() for f in Settings.model_fields}
    for objs in (default, full):
        data = by_kind(objs, "ConfigMap")[CONFIG]["data"]
        assert set(data) - {"TZ"} <= fields, set(data) - fields
        for key, value in data.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("REDIS_URL", "redis://r:6379/0")
        Settings()


def test_fake_llm(default: list[dict], full: list[dict]) -> None:
    assert name("fake-llm") not in by_kind(default, "Deployment")
    cm = by_kind(default, "ConfigMap")[CONFIG]["data"]
    assert cm["LLM_MODEL"] == "openai/gpt-4o-mini" and "LLM_API_BASE" not in cm

    cm = by_kind(full, "ConfigMap")[CONFIG]["data"]
    svc = by_kind(full, "Service")[name("fake-llm")]
    assert cm["LLM_MODEL"] == "openai/fake-agent"
    assert cm["LLM_API_BASE"] == f"http://{name('fake-llm')}:{svc['spec']['ports'][0]['port']}/v1"


def test_default_topology_spread(default: list[dict], full: list[dict]) -> None:
    """Replicas spread across zones and nodes by default, softly (a one-zone or
    one-node cluster still schedules them); a component's own list replaces it."""
    for component in COMPONENTS:
        spec = by_kind(default, "Deployment")[name(component)]["spec"]["template"]
        constraints = spec["spec"]["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in constraints] == [
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        ], component
        for c in constraints:
            assert c["whenUnsatisfiable"] == "ScheduleAnyway" and c["maxSkew"] == 1
            assert c["labelSelector"]["matchLabels"].items() <= spec["metadata"]["labels"].items()
            assert c["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == component
    api = by_kind(full, "Deployment")[name("api")]["spec"]["template"]["spec"]
    assert [c["topologyKey"] for c in api["topologySpreadConstraints"]] == [
        "topology.kubernetes.io/zone"
    ]


def test_topology_spread_can_be_turned_off(helm: str) -> None:
    objs = objects(template(helm, *REQUIRED, "--set", "topologySpread.enabled=false"))
    for dep in by_kind(objs, "Deployment").values():
        assert "topologySpreadConstraints" not in dep["spec"]["template"]["spec"]


def test_escape_hatches(default: list[dict], full: list[dict]) -> None:
    """lifecycle (preStop), priorityClassName, extraVolumes/extraVolumeMounts,
    image.digest and extraObjects reach the rendered objects, and are absent by default."""
    spec = by_kind(full, "Deployment")[name("worker-llm")]["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    assert spec["priorityClassName"] == "agents-high"
    assert {"name": "model-ca", "configMap": {"name": "model-proxy-ca"}} in spec["volumes"]
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert mounts["model-ca"]["mountPath"] == "/etc/model-ca" and "tmp" in mounts
    assert c["image"].endswith("/durable-agent/worker-llm@sha256:" + "0123456789abcdef" * 4)
    assert "agents-high" in by_kind(full, "PriorityClass")
    assert f"{RELEASE}-model-proxy-ca" in by_kind(full, "ConfigMap")  # a string, through tpl
    for dep in by_kind(default, "Deployment").values():
        spec = dep["spec"]["template"]["spec"]
        assert "priorityClassName" not in spec and "lifecycle" not in spec["containers"][0]
        assert [v["name"] for v in spec["volumes"]] == ["tmp"]
    assert not by_kind(default, "PriorityClass")


def test_mcp_servers_become_the_file_every_service_reads(
    helm: str, default: list[dict], full: list[dict]
) -> None:
    """mcpServers is rendered as the JSON file MCP_SERVERS_FILE names, mounted
    read-only into api, worker-llm and worker-tools (not the fake LLM); unset, none."""
    from agent_core.mcp_config import McpFile, load_mcp_file

    example = REPO_ROOT / "docs" / "mcp-servers.example.json"
    objs = objects(template(helm, *REQUIRED, "--set-json", f"mcpServers={example.read_text()}"))
    specs = pod_specs(objs)
    files = set()
    for component in COMPONENTS:
        path = PurePosixPath(str(container_env(objs, component)["MCP_SERVERS_FILE"]))
        spec = specs[f"Deployment/{name(component)}"]
        [mount] = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "mcp-servers"]
        assert mount["mountPath"] == str(path.parent) and mount["readOnly"] is True
        [volume] = [v for v in spec["volumes"] if v["name"] == "mcp-servers"]
        files.add((volume["configMap"]["name"], path.name))
    [(config_map, key)] = files
    content = json.loads(by_kind(objs, "ConfigMap")[config_map]["data"][key])
    assert McpFile.model_validate(content) == load_mcp_file(example)
    crm = by_kind(full, "ConfigMap")[config_map]["data"][key]
    assert (
        "CRM_MCP_TOKEN" in crm
        and "crm" in json.loads(crm)["goals"]["order_tracking"]["mcp_servers"]
    )
    assert config_map not in by_kind(default, "ConfigMap")
    for component in COMPONENTS:
        assert "MCP_SERVERS_FILE" not in container_env(default, component)


# --- services, scaling, exposure, monitoring ----------------------------------


def test_services(default: list[dict]) -> None:
    services = by_kind(default, "Service")
    deps = by_kind(default, "Deployment")
    api = services[name("api")]
    # metrics on a port of their own, which the Ingress does not route (test_ingress...)
    assert [(p["name"], p["port"], p["targetPort"]) for p in api["spec"]["ports"]] == [
        ("http", 8000, "http"),
        ("metrics", 9100, "metrics"),
    ]
    container = deps[name("api")]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["METRICS_PORT"] == "9100"
    for component in COMPONENTS:
        svc = services[name(component)]
        pod_labels = deps[name(component)]["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= pod_labels.items(), component
    for worker in ("worker-llm", "worker-tools"):
        ports = {p["name"]: p["port"] for p in services[name(worker)]["spec"]["ports"]}
        assert ports == {"metrics": 9100, "sdk-metrics": 9101}


def test_hpa_and_pdb_per_deployment(full: list[dict]) -> None:
    deps = by_kind(full, "Deployment")
    hpas = by_kind(full, "HorizontalPodAutoscaler")
    pdbs = by_kind(full, "PodDisruptionBudget")
    for dname, dep in deps.items():
        assert "replicas" not in dep["spec"], f"{dname}: replicas fights the HPA"
        hpa = hpas[dname]
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": dname,
        }
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        selector = pdbs[dname]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items(), dname
    assert pdbs[name("api")]["spec"] == {
        "minAvailable": 2,
        "selector": pdbs[name("api")]["spec"]["selector"],
    }
    metrics = {m["resource"]["name"] for m in hpas[name("api")]["spec"]["metrics"]}
    assert metrics == {"cpu", "memory"}


@pytest.fixture(scope="module")
def keda(rendered: dict[str, str]) -> list[dict]:
    return objects(rendered["keda"])


def test_keda_scales_workers_on_their_task_queue_backlog(keda: list[dict]) -> None:
    """kubernetes-validate skips this CRD: check its shape here. Each worker
    scales on the queues it polls, KEDA alone (no HPA, no fixed replicas)."""
    scaled = by_kind(keda, "ScaledObject")
    assert set(scaled) == {name("worker-llm"), name("worker-tools")}
    assert not by_kind(keda, "HorizontalPodAutoscaler")
    cm = by_kind(keda, "ConfigMap")[CONFIG]["data"]
    deps = by_kind(keda, "Deployment")
    for sname, so in scaled.items():
        assert so["apiVersion"] == "keda.sh/v1alpha1"
        assert so["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": sname,
        }
        assert "replicas" not in deps[sname]["spec"], f"{sname}: replicas fights KEDA"
        assert so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"]
        for trig in so["spec"]["triggers"]:
            if trig["type"] == "temporal":
                md = trig["metadata"]
                assert md["endpoint"] == cm["TEMPORAL_ADDRESS"]
                assert md["namespace"] == cm["TEMPORAL_NAMESPACE"] == "agents"
                assert all(isinstance(v, str) for v in md.values()), md
    llm = scaled[name("worker-llm")]["spec"]["triggers"]
    queues = {
        t["metadata"]["taskQueue"]: t["metadata"]["queueTypes"]
        for t in llm
        if t["type"] == "temporal"
    }
    assert queues == {cm["WORKFLOW_TASK_QUEUE"]: "workflow", cm["LLM_TASK_QUEUE"]: "activity"}
    assert {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "75"}} in llm
    temporal = [t for t in llm if t["type"] == "temporal"]
    assert all(t["authenticationRef"] == {"name": "temporal-api-key"} for t in temporal)
    assert all(t["metadata"]["enableTLS"] == "true" for t in temporal)
    (tools,) = scaled[name("worker-tools")]["spec"]["triggers"]
    assert tools["metadata"]["taskQueue"] == cm["TOOLS_TASK_QUEUE"]
    assert tools["metadata"]["queueTypes"] == "activity" and "authenticationRef" not in tools


def test_keda_with_the_llm_queue_shared(helm: str) -> None:
    """No separate LLM queue (the default): one trigger counts the workflow
    queue's workflow and activity backlog."""
    objs = objects(template(helm, *REQUIRED, "--set", "workerLlm.keda.enabled=true"))
    (trig,) = by_kind(objs, "ScaledObject")[name("worker-llm")]["spec"]["triggers"]
    assert trig["metadata"]["taskQueue"] == "agent-workflows"
    assert trig["metadata"]["queueTypes"] == "workflow,activity"
    assert "ScaledObject" not in {o["kind"] for o in objects(template(helm, *REQUIRED))}


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["workerTools.keda.enabled=true", "workerTools.autoscaling.enabled=true"], "both on"),
        (["api.keda.enabled=true"], "for the workers"),
    ],
)
def test_keda_misuse_fails_the_render(helm: str, sets: list[str], message: str) -> None:
    flags = [f for s in sets for f in ("--set", s)]
    proc = run([helm, "template", RELEASE, str(CHART), *REQUIRED, *flags], check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


def test_ingress_is_sse_friendly(full: list[dict]) -> None:
    (ingress,) = by_kind(full, "Ingress").values()
    ann = ingress["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(ann["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": name("api"), "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["secretName"] == "agent-example-tls"


def test_ingress_for_any_controller(helm: str) -> None:
    """Not ingress-nginx only: the class and annotations are the operator's, and
    the nginx SSE settings come only with className nginx, overridable."""
    objs = objects(
        template(
            helm,
            *REQUIRED,
            "--set",
            "ingress.enabled=true",
            "--set",
            "ingress.className=traefik",
            "--set-string",
            "ingress.annotations.traefik\\.ingress\\.kubernetes\\.io/router\\.entrypoints=websecure",
        )
    )
    (ingress,) = by_kind(objs, "Ingress").values()
    assert ingress["spec"]["ingressClassName"] == "traefik"
    ann = ingress["metadata"]["annotations"]
    assert ann == {"traefik.ingress.kubernetes.io/router.entrypoints": "websecure"}

    objs = objects(template(helm, *REQUIRED, "--set", "ingress.enabled=true"))
    (ingress,) = by_kind(objs, "Ingress").values()
    assert "ingressClassName" not in ingress["spec"]  # the cluster's default class
    assert "annotations" not in ingress["metadata"]

    objs = objects(
        template(
            helm,
            *REQUIRED,
            "--set",
            "ingress.enabled=true",
            "--set",
            "ingress.className=nginx",
            "--set-string",
            "ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-read-timeout=7200",
        )
    )
    (ingress,) = by_kind(objs, "Ingress").values()
    ann = ingress["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "7200"
    assert ann["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"


def test_http_route(full: list[dict], default: list[dict]) -> None:
    """kubernetes-validate skips this CRD: check its shape here."""
    assert not by_kind(default, "HTTPRoute")
    (route,) = by_kind(full, "HTTPRoute").values()
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    spec = route["spec"]
    assert spec["parentRefs"] == [
        {"name": "public-gateway", "namespace": "gateway-system", "sectionName": "https"}
    ]
    assert spec["hostnames"] == ["agent.example.com"]
    (rule,) = spec["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert rule["timeouts"] == {"request": "0s"}


def test_http_route_needs_a_parent(helm: str) -> None:
    proc = run(
        [helm, "template", RELEASE, str(CHART), *REQUIRED, "--set", "httpRoute.enabled=true"],
        check=False,
    )
    assert proc.returncode != 0 and "httpRoute.parentRefs is required" in proc.stderr


def test_ingress_and_route_reach_only_the_api_http_port(full: list[dict]) -> None:
    """/metrics has a port of its own that nothing outside the cluster reaches:
    the Ingress and the HTTPRoute send traffic only to the api's http port."""
    (svc_ports,) = [
        {p["name"]: p["port"] for p in s["spec"]["ports"]}
        for n, s in by_kind(full, "Service").items()
        if n == name("api")
    ]
    assert set(svc_ports) == {"http", "metrics"}
    (ingress,) = by_kind(full, "Ingress").values()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"] == {"name": name("api"), "port": {"name": "http"}}
    (route,) = by_kind(full, "HTTPRoute").values()
    for rule in route["spec"]["rules"]:
        assert rule["backendRefs"] == [{"name": name("api"), "port": svc_ports["http"]}]
    assert svc_ports["http"] != svc_ports["metrics"]


MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}


def _ingress_ports(policy: dict) -> dict[str | int, list[dict] | None]:
    """Container port -> the peers a policy lets in (None: anywhere)."""
    out: dict[str | int, list[dict] | None] = {}
    for rule in policy["spec"].get("ingress", []):
        for port in rule["ports"]:
            out[port["port"]] = rule.get("from")
    return out


def _egress_ports(policy: dict) -> set[tuple[int, str]]:
    return {
        (port["port"], port.get("protocol", "TCP"))
        for rule in policy["spec"]["egress"]
        for port in rule.get("ports", [])
    }


def test_network_policies(default: list[dict], full: list[dict], helm: str) -> None:
    """Off by default. On: the api's http port open (to apiFrom), metrics ports
    only to the monitoring namespace, workers nothing else; egress only to DNS
    and the ports of what each component talks to."""
    assert not by_kind(default, "NetworkPolicy")
    objs = objects(template(helm, *REQUIRED, "--set", "networkPolicy.enabled=true"))
    policies = by_kind(objs, "NetworkPolicy")
    deps = by_kind(objs, "Deployment")
    assert set(policies) == set(deps)
    dns = {(53, "UDP"), (53, "TCP")}
    for component in COMPONENTS:
        pol = policies[name(component)]
        pod_labels = deps[name(component)]["spec"]["template"]["metadata"]["labels"]
        assert pol["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
        assert pol["spec"]["policyTypes"] == ["Ingress", "Egress"]
        # every named port in a rule is one the container declares
        (c,) = deps[name(component)]["spec"]["template"]["spec"]["containers"]
        assert set(_ingress_ports(pol)) <= {p["name"] for p in c["ports"]}, component
    assert _ingress_ports(policies[name("api")]) == {"http": None, "metrics": [MONITORING]}
    for worker in ("worker-llm", "worker-tools"):
        ingress = _ingress_ports(policies[name(worker)])
        assert ingress == {"metrics": [MONITORING], "sdk-metrics": [MONITORING]}, worker
    base = dns | {(7233, "TCP"), (6379, "TCP"), (443, "TCP")}
    for component in COMPONENTS:
        assert _egress_ports(policies[name(component)]) == base, component

    # the model provider's ports go to worker-llm alone
    objs = objects(
        template(
            helm,
            *REQUIRED,
            "--set",
            "networkPolicy.enabled=true",
            "--set",
            "networkPolicy.egress.modelProvider.ports={8443}",
        )
    )
    policies = by_kind(objs, "NetworkPolicy")
    assert (8443, "TCP") in _egress_ports(policies[name("worker-llm")])
    assert (8443, "TCP") not in _egress_ports(policies[name("api")])
    assert (8443, "TCP") not in _egress_ports(policies[name("worker-tools")])


def test_network_policies_all_features(full: list[dict]) -> None:
    policies = by_kind(full, "NetworkPolicy")
    api = _ingress_ports(policies[name("api")])
    peers = api["http"]
    assert peers is not None and peers[0] == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    }
    # the helm test Pod still reaches the gateway
    (test_pod,) = [o for o in full if o["kind"] == "Pod"]
    selectors = [p["podSelector"]["matchLabels"] for p in peers if "podSelector" in p]
    assert any(s.items() <= test_pod["metadata"]["labels"].items() for s in selectors)
    # MinIO's endpoint port joins the object store's; operators' own rules are kept
    for component in COMPONENTS:
        ports = _egress_ports(policies[name(component)])
        assert {(9000, "TCP"), (6380, "TCP"), (8443, "TCP")} <= ports, component
    # the fake LLM: reached by worker-llm only, talks to nothing but DNS
    fake = policies[name("fake-llm")]
    (peer,) = _ingress_ports(fake)["http"] or []
    assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "worker-llm"
    assert _egress_ports(fake) == {(53, "UDP"), (53, "TCP")}
    llm = policies[name("worker-llm")]
    to_fake = [
        r for r in llm["spec"]["egress"] if r["ports"] == [{"port": 8080, "protocol": "TCP"}]
    ]
    assert (
        to_fake
        and to_fake[0]["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        == "fake-llm"
    )


def test_service_monitors(full: list[dict]) -> None:
    """kubernetes-validate skips this CRD: check its shape here."""
    monitors = by_kind(full, "ServiceMonitor")
    services = by_kind(full, "Service")
    assert set(monitors) == {name(c) for c in COMPONENTS}
    for mname, sm in monitors.items():
        assert sm["apiVersion"] == "monitoring.coreos.com/v1"
        assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        spec = sm["spec"]
        assert set(spec) == {"selector", "namespaceSelector", "endpoints"}
        assert spec["namespaceSelector"] == {"matchNames": ["agents"]}
        # The selector picks exactly the component's Service ...
        matched = [
            s
            for s in services.values()
            if spec["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        ]
        assert [s["metadata"]["name"] for s in matched] == [mname]
        # ... and every endpoint names one of its ports.
        ports = {p["name"] for p in matched[0]["spec"]["ports"]}
        for ep in spec["endpoints"]:
            assert set(ep) == {"port", "path", "interval", "scrapeTimeout"}
            assert ep["port"] in ports and ep["path"] == "/metrics"
            assert ep["interval"] == "15s" and ep["scrapeTimeout"] == "10s"
    api_ports = {ep["port"] for ep in monitors[name("api")]["spec"]["endpoints"]}
    assert api_ports == {"metrics"}
    worker_ports = {ep["port"] for ep in monitors[name("worker-llm")]["spec"]["endpoints"]}
    assert worker_ports == {"metrics", "sdk-metrics"}


# --- helm test -------------------------------------------------------------------


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_helm_test_pod_asks_the_gateway(rendered: dict[str, str], values: str) -> None:
    """`helm template` renders the test hook (kubernetes-validate checks it
    above): a Pod of the api image that GETs /healthz and /readyz on the api
    Service's http port."""
    objs = objects(rendered[values])
    (pod,) = [o for o in objs if o["kind"] == "Pod"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert "hook-succeeded" in pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    assert pod["spec"]["restartPolicy"] == "Never"
    (c,) = pod["spec"]["containers"]
    api = by_kind(objs, "Deployment")[name("api")]["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == api["image"]
    svc = by_kind(objs, "Service")[name("api")]
    http = next(p["port"] for p in svc["spec"]["ports"] if p["name"] == "http")
    script = c["command"][-1]
    for path in ("/healthz", "/readyz"):
        assert f"healthcheck http://{name('api')}:{http}{path}" in script, script
    run(["sh", "-n"], input=script)
    assert "env" in c and not [e for e in c["env"] if "valueFrom" in e], (
        "the test Pod needs no secret"
    )
    assert "envFrom" not in c
    # healthcheck is the console tool every image carries (test_dockerfiles.py)
    assert "/usr/local/bin/healthcheck" in DOCKERFILE.read_text()


# --- Temporal set-up job ------------------------------------------------------


def test_temporal_setup_job(default: list[dict], full: list[dict]) -> None:
    (job,) = by_kind(default, "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/bin/sh", "/scripts/setup-temporal.sh"]
    # the script it runs is the one compose runs (tests/deploy/test_temporal_setup.py)
    scripts = by_kind(default, "ConfigMap")[job["metadata"]["name"]]
    assert scripts["data"]["setup-temporal.sh"] == SETUP_SCRIPT.read_text().rstrip("\n")
    mounted = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounted["scripts"] == "/scripts"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY"} <= set(env)
    assert env["TEMPORAL_CREATE_NAMESPACE"] == "true"  # a plain server has only `default`

    (job,) = by_kind(full, "Job").values()
    env = {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["TEMPORAL_TLS_CLIENT_CERT_PATH"] == "/etc/temporal-tls/tls.crt"
    assert env["TEMPORAL_TLS_SERVER_CA_CERT_PATH"] == "/etc/temporal-tls/ca.crt"


def test_temporal_setup_can_be_disabled(helm: str) -> None:
    objs = objects(template(helm, *REQUIRED, "--set", "temporalSetup.enabled=false"))
    assert not by_kind(objs, "Job")


# --- images -------------------------------------------------------------------


def test_no_image_registry_fails_the_render_with_a_clear_message(helm: str) -> None:
    """Nobody publishes durable-agent/*: an unqualified default would pull a
    Docker Hub name nobody owns, so the render says how to build and push."""
    for cmd in (["template", RELEASE], ["install", RELEASE, "--dry-run=client"]):
        proc = run([helm, *cmd, str(CHART), "--set", f"storage.bucket={BUCKET}"], check=False)
        out = proc.stderr + proc.stdout
        assert proc.returncode != 0, cmd
        assert "image.registry is required" in out and "docker build --target" in out, out


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_images_name_a_registry(rendered: dict[str, str], values: str) -> None:
    objs = objects(rendered[values])
    registry = "registry.example.com/acme"
    for dname, dep in by_kind(objs, "Deployment").items():
        (c,) = dep["spec"]["template"]["spec"]["containers"]
        assert c["image"].startswith(f"{registry}/durable-agent/"), (dname, c["image"])


def test_image_digest_and_qualified_repository(helm: str) -> None:
    digest = "sha256:" + "a" * 64
    objs = objects(
        template(
            helm,
            "--set",
            f"storage.bucket={BUCKET}",
            "--set",
            "api.image.repository=ghcr.io/acme/api",
            "--set",
            f"api.image.digest={digest}",
            "--set",
            "workerLlm.image.repository=localhost:5000/worker-llm",
            "--set",
            "workerTools.image.repository=registry.internal/tools",
        )
    )
    deps = by_kind(objs, "Deployment")
    image = {
        c: deps[name(c)]["spec"]["template"]["spec"]["containers"][0]["image"] for c in COMPONENTS
    }
    assert image["api"] == f"ghcr.io/acme/api@{digest}"
    assert image["worker-llm"] == "localhost:5000/worker-llm:0.1.0"
    assert image["worker-tools"] == "registry.internal/tools:0.1.0"


# --- object store -------------------------------------------------------------


def test_no_bucket_fails_the_render_with_a_clear_message(helm: str) -> None:
    """No silent per-pod directory: without storage.bucket nothing renders nor
    installs (`helm lint` lets `fail` through by design, so it is no check here)."""
    for cmd in (["template", RELEASE], ["install", RELEASE, "--dry-run=client"]):
        proc = run([helm, *cmd, str(CHART), "--set", f"image.registry={REGISTRY}"], check=False)
        assert proc.returncode != 0, cmd
        assert "storage.bucket is required" in proc.stderr + proc.stdout, cmd


@pytest.mark.parametrize("values", ["default", "all-features"])
def test_every_app_container_opens_the_one_bucket(
    default: list[dict], full: list[dict], values: str
) -> None:
    objs = default if values == "default" else full
    storage = {
        c: {k: v for k, v in container_env(objs, c).items() if k.startswith("STORAGE_")}
        for c in COMPONENTS
    }
    first = storage["api"]
    for component, env in storage.items():
        assert env == first, f"{component} opens another store than api: {env} != {first}"
        assert str(env.get("STORAGE_URL", "")).startswith("s3://"), component
        assert "STORAGE_PAYLOAD_THRESHOLD_BYTES" in env, component
        for key in STORAGE_KEYS:
            assert isinstance(env.get(key), tuple), f"{component}: {key} is not from a Secret"
    if values == "default":
        assert first["STORAGE_URL"] == f"s3://{BUCKET}"
        assert first["STORAGE_PAYLOAD_THRESHOLD_BYTES"] == "262144"
        assert "STORAGE_S3_ENDPOINT_URL" not in first and "STORAGE_S3_REGION" not in first
    else:
        assert first["STORAGE_URL"] == "s3://acme-durable-agent"
        assert first["STORAGE_S3_ENDPOINT_URL"].startswith("https://minio.")
        assert first["STORAGE_S3_REGION"] == "eu-west-1"
        # a Secret of the operator's, its own key names, required
        assert first["STORAGE_S3_ACCESS_KEY_ID"] == (
            "secret",
            "object-store-credentials",
            "accesskey",
            False,
        )
        assert first["STORAGE_S3_SECRET_ACCESS_KEY"] == (
            "secret",
            "object-store-credentials",
            "secretkey",
            False,
        )
    fake = container_env(full, "fake-llm")
    assert not [k for k in fake if k.startswith("STORAGE_")], "the fake LLM needs no store"


def test_storage_key_pair_from_values_lands_in_the_charts_secret(
    helm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    objs = objects(
        template(
            helm,
            *REQUIRED,
            "--set",
            "storage.s3.accessKeyId=AKIAEXAMPLE",
            "--set",
            "storage.s3.secretAccessKey=s3cr3t",
        )
    )
    (secret,) = by_kind(objs, "Secret").values()
    assert secret["stringData"]["STORAGE_S3_ACCESS_KEY_ID"] == "AKIAEXAMPLE"
    assert secret["stringData"]["STORAGE_S3_SECRET_ACCESS_KEY"] == "s3cr3t"
    from agent_core.settings import Settings

    for component in COMPONENTS:
        env = container_env(objs, component)
        for key in STORAGE_KEYS:
            assert env[key][:3] == ("secret", secret["metadata"]["name"], key), component  # type: ignore[index]
            assert key in secret["stringData"]
        # what the pod would see: the services accept it
        for key, value in env.items():
            if isinstance(value, tuple):
                value = secret["stringData"].get(value[2], "")
            monkeypatch.setenv(key, value)
        settings = Settings()
        assert settings.storage_url == f"s3://{BUCKET}"
        assert settings.storage_s3_secret_access_key is not None
        assert settings.storage_s3_secret_access_key.get_secret_value() == "s3cr3t"


def test_storage_without_credentials_leaves_boto_its_chain(default: list[dict]) -> None:
    """IRSA / EKS Pod Identity: no key pair anywhere, and the optional refs let
    the pods start with none (the service account carries the role)."""
    (secret,) = by_kind(default, "Secret").values()
    assert not set(STORAGE_KEYS) & set(secret["stringData"])
    for component in COMPONENTS:
        env = container_env(default, component)
        for key in STORAGE_KEYS:
            assert env[key] == ("secret", secret["metadata"]["name"], key, True), component


def test_storage_key_pair_read_from_secrets_existing_secret(helm: str) -> None:
    objs = objects(template(helm, *REQUIRED, "--set", "secrets.existingSecret=agent-secrets"))
    for component in COMPONENTS:
        env = container_env(objs, component)
        for key in STORAGE_KEYS:
            assert env[key] == ("secret", "agent-secrets", key, True), component


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ["storage.s3.existingSecret=creds", "storage.s3.accessKeyId=a"],
            "not both",
        ),
        (["storage.s3.accessKeyId=a"], "go together"),
        (["storage.s3.secretAccessKey=b"], "go together"),
        (
            [
                "secrets.existingSecret=agent-secrets",
                "storage.s3.accessKeyId=a",
                "storage.s3.secretAccessKey=b",
            ],
            "STORAGE_S3_ACCESS_KEY_ID",
        ),
    ],
)
def test_storage_credentials_that_would_be_ignored_fail_the_render(
    helm: str, sets: list[str], message: str
) -> None:
    flags = [f for s in sets for f in ("--set", s)]
    proc = run([helm, "template", RELEASE, str(CHART), *REQUIRED, *flags], check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
