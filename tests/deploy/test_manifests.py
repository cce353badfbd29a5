"""The deploy files, checked offline: the Compose file against the compose specification's JSON
schema, the rendered kustomize overlays against the Kubernetes schemas of KUBERNETES_VERSION,
what the schemas cannot say (probes, non-root, the single tantivy writer, only the gateway
exposed), and every service's config loaded from the deploy files; a broken manifest fails."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from cli import registry
from cli.deploy_secrets import Hosts, generate, read_env_file
from kernel.config import load_config, service_config_path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
KUSTOMIZE = DEPLOY / "kubernetes"
CONFIG = KUSTOMIZE / "base" / "config"
OVERLAYS = ["dev", "prod"]
KUBERNETES_VERSION = "1.32.0"
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")


def compose_errors(path: Path) -> str | None:
    done = subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True)
    return None if done.returncode == 0 else done.stdout + done.stderr


def render(folder: Path) -> list[dict]:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl (with its kustomize) is needed to render deploy/kubernetes: `make tools` installs it")
    done = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def schema_errors(documents: list[dict]) -> list[str]:
    errors = []
    for document in documents:
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{document['kind']}/{document['metadata']['name']}: {error.message} "
                          f"at {'.'.join(map(str, error.path))}")
    return errors


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {overlay: render(KUSTOMIZE / "overlays" / overlay) for overlay in OVERLAYS}


def of_kind(documents, kind) -> dict[str, dict]:
    return {document["metadata"]["name"]: document for document in documents if document["kind"] == kind}


def unhashed(name: str) -> str:
    """A generated ConfigMap's name without kustomize's hash suffix."""
    return re.sub(r"-[a-z0-9]{10}$", "", name)


def config_maps(documents) -> dict[str, dict]:
    """ConfigMap data by name without kustomize's hash suffix."""
    return {unhashed(name): document.get("data", {})
            for name, document in of_kind(documents, "ConfigMap").items()}


# ---------------------------------------------------------------------- schemas

def test_the_compose_file_follows_the_compose_specification():
    assert compose_errors(COMPOSE) is None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_renders_to_valid_kubernetes_objects(rendered, overlay):
    assert rendered[overlay], "nothing rendered"
    assert schema_errors(rendered[overlay]) == []


def test_a_broken_compose_file_fails(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE.read_text().replace("condition: service_completed_successfully", "condition: when_it_feels_like_it", 1)
    broken.write_text(text)
    assert "when_it_feels_like_it" in (compose_errors(broken) or "")


def test_a_broken_manifest_fails(tmp_path):
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZE, copy)
    catalog, notify = copy / "base" / "catalog.yaml", copy / "base" / "notify.yaml"
    catalog.write_text(catalog.read_text().replace("  replicas: 2\n", "  replica: 2\n", 1))      # unknown field
    notify.write_text(notify.read_text().replace("{name: ops, containerPort: 9100}", "{name: ops, containerPort: nine}"))
    errors = schema_errors(render(copy / "overlays" / "prod"))
    assert len(errors) == 2, errors
    assert "Deployment/kosi-catalog" in errors[0] and "'replica' was unexpected" in errors[0], errors
    assert "Deployment/kosi-notify" in errors[1] and "'nine' is not of type 'integer'" in errors[1], errors


def test_a_manifest_kustomize_cannot_build_fails(tmp_path):
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZE, copy)
    (copy / "base" / "survey.yaml").unlink()
    done = subprocess.run(["kubectl", "kustomize", str(copy / "overlays" / "dev")], capture_output=True, text=True)
    assert done.returncode != 0 and "survey.yaml" in done.stderr


# ---------------------------------------------------------------------- what schemas cannot say

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_runs_as_its_own_deployment_with_probes_and_without_root(rendered, overlay):
    deployments = of_kind(rendered[overlay], "Deployment")
    maps = config_maps(rendered[overlay])
    for service in registry.SERVICES:
        deployment = deployments[f"kosi-{service}"]
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert maps[f"kosi-{service}-config"]["KOSI_SERVICE"] == service
        assert container["args"] == ["serve"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert {port["containerPort"] for port in container["ports"]} >= {9100}
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert "memory" in container["resources"]["limits"] and "cpu" in container["resources"]["requests"]
        secret_names = {source["secretRef"]["name"] for source in container["envFrom"] if "secretRef" in source}
        assert secret_names == {f"kosi-{service}"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_embedded_index_has_one_writer_and_elasticsearch_scales(rendered, overlay):
    search = of_kind(rendered[overlay], "Deployment")["kosi-search"]
    settings = config_maps(rendered[overlay])["kosi-search-config"]
    autoscalers = {document["spec"]["scaleTargetRef"]["name"]
                   for document in of_kind(rendered[overlay], "HorizontalPodAutoscaler").values()}
    if settings["SEARCH_BACKEND"] == "tantivy":
        assert settings["SEARCH_ROLE"] in ("all", "index")
        assert search["spec"]["replicas"] == 1 and search["spec"]["strategy"]["type"] == "Recreate"
        assert "kosi-search" not in autoscalers
    else:
        assert settings["SEARCH_ROLE"] == "all"
        assert "kosi-search" in autoscalers and search["spec"]["strategy"]["type"] == "RollingUpdate"
    assert (overlay, settings["SEARCH_BACKEND"]) in (("dev", "tantivy"), ("prod", "elasticsearch"))


def test_production_scales_the_gateway_search_and_notify_and_keeps_one_of_each_through_a_drain(rendered):
    documents = rendered["prod"]
    autoscalers = {document["spec"]["scaleTargetRef"]["name"]
                   for document in of_kind(documents, "HorizontalPodAutoscaler").values()}
    assert autoscalers == {"kosi-gateway", "kosi-search", "kosi-notify"}
    budgets = {document["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
               for document in of_kind(documents, "PodDisruptionBudget").values()}
    assert budgets == {f"kosi-{service}" for service in registry.SERVICES}
    assert {"kosi-broker-setup", "kosi-migrate", "kosi-search-setup"} <= set(of_kind(documents, "Job"))
    assert of_kind(documents, "Job")["kosi-migrate"]["spec"]["template"]["spec"]["containers"][0]["args"] == \
        ["db", "upgrade", *registry.DATABASE_SERVICES]


def _pods(documents):
    """(kind/name, pod spec) of every Deployment, StatefulSet and Job."""
    return [(f"{document['kind']}/{document['metadata']['name']}", document["spec"]["template"]["spec"])
            for document in documents if document["kind"] in ("Deployment", "StatefulSet", "Job")]


def test_production_runs_the_release_image_and_dev_the_local_one(rendered):
    for overlay, expected in (("prod", "registry.example.org/kosi:0.1.0"), ("dev", "localhost/kosi:dev")):
        images = {container["image"] for name, pod in _pods(rendered[overlay]) if "kosi-" in name
                  for container in pod["containers"]}
        assert images == {expected}, (overlay, images)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_has_the_files_its_settings_name(rendered, overlay):
    """A CA file or index folder a ConfigMap names is mounted in each pod that reads it."""
    maps = config_maps(rendered[overlay])
    for name, pod in _pods(rendered[overlay]):
        container = pod["containers"][0]
        settings = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                settings |= maps[unhashed(source["configMapRef"]["name"])]
        mounts = [mount["mountPath"] for mount in container.get("volumeMounts", [])]
        for key in ("ELASTICSEARCH_CA_FILE",):
            if settings.get(key):
                assert any(settings[key].startswith(path + "/") for path in mounts), (name, key, mounts)
        if settings.get("SEARCH_BACKEND") == "tantivy" and name.startswith("Deployment/"):
            assert settings["SEARCH_INDEX_PATH"] in mounts, (name, mounts)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_autoscaled_deployment_leaves_its_replicas_to_the_autoscaler(rendered, overlay):
    deployments = of_kind(rendered[overlay], "Deployment")
    for autoscaler in of_kind(rendered[overlay], "HorizontalPodAutoscaler").values():
        target = deployments[autoscaler["spec"]["scaleTargetRef"]["name"]]
        assert "replicas" not in target["spec"], target["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_admits_traffic_from_anywhere(rendered, overlay):
    policies = of_kind(rendered[overlay], "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    open_ingress = [name for name, policy in policies.items()
                    for rule in policy["spec"].get("ingress", []) if "from" not in rule]
    assert open_ingress == ["gateway-from-anywhere"]
    assert policies["gateway-from-anywhere"]["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/component": "gateway"}}
    services = [document for document in of_kind(rendered[overlay], "Service").values()
                if document["spec"].get("type") in ("LoadBalancer", "NodePort")]
    assert services == []


def test_services_reach_the_database_only_if_they_have_one_and_the_broker_only_if_they_use_it(rendered):
    policies = of_kind(rendered["prod"], "NetworkPolicy")

    def selected(name):
        return set(policies[name]["spec"]["podSelector"]["matchExpressions"][0]["values"])

    with_database = {f"kosi-{service}" for service in registry.DATABASE_SERVICES}
    assert selected("services-to-database") == with_database | {"kosi-migrate"}
    assert selected("services-to-broker") == {f"kosi-{service}" for service in registry.SERVICES} | {"kosi-broker-setup"}
    allowed_in = policies["database-from-kosi"]["spec"]["ingress"][0]["from"][0]["podSelector"]
    assert set(allowed_in["matchExpressions"][0]["values"]) == with_database | {"kosi-migrate"}


def test_no_secret_is_in_a_config_map_or_the_compose_file(rendered):
    secret_words = re.compile(r"(SECRET|PASSWORD|SIGNING_KEY|API_KEY|_AMQP_URI|_DATABASE_URL)$")
    for overlay in OVERLAYS:
        for name, data in config_maps(rendered[overlay]).items():
            for key, value in data.items():
                if secret_words.search(key):
                    assert value == "", f"{overlay} ConfigMap {name} holds the secret {key}"
    compose = yaml.safe_load(COMPOSE.read_text())
    for name, service in compose["services"].items():
        for key in (service.get("environment") or {}):
            assert not secret_words.search(key), f"compose service {name} sets the secret {key} inline"
    assert "deploy/compose/secrets/" in (REPO / ".gitignore").read_text()


def test_prometheus_on_kubernetes_finds_every_ops_port_of_the_production_namespace(rendered):
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus-kubernetes.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"] and (DEPLOY / "prometheus" / "alerts.yml").exists()
    pods, gateway = config["scrape_configs"]
    namespace = next(d for d in rendered["prod"] if d["kind"] == "Namespace")["metadata"]["name"]
    assert pods["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": [namespace]}}]
    keep = next(rule for rule in pods["relabel_configs"] if rule.get("action") == "keep")
    for name, deployment in of_kind(rendered["prod"], "Deployment").items():
        ports = {port["name"]: port["containerPort"] for port in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
        assert re.fullmatch(keep["regex"], "ops") and ports["ops"] == 9100, name
    service = of_kind(rendered["prod"], "Service")["kosi-gateway"]
    assert gateway["static_configs"] == [{"targets": [f"kosi-gateway.{namespace}.svc:"
                                                      f"{next(p['port'] for p in service['spec']['ports'] if p['name'] == 'http')}"]}]


# ---------------------------------------------------------------------- compose

def test_compose_runs_every_service_after_the_jobs_and_exposes_only_the_gateway():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    for name in registry.SERVICES:
        service = services[name]
        env_files = [Path(path).name for path in service["env_file"]]
        assert env_files == [f"{name}.env", f"{name}.env"] and "secrets/" in service["env_file"][1]
        assert (COMPOSE.parent / service["env_file"][0]).resolve() == CONFIG / f"{name}.env"
        for job in ("broker-setup", "migrate"):
            assert service["depends_on"][job] == {"condition": "service_completed_successfully"}
    assert services["search"]["depends_on"]["search-setup"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["command"] == ["db", "upgrade", *registry.DATABASE_SERVICES]
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert published.pop("gateway") == ["8000:8000"]
    assert all(port.startswith("127.0.0.1:") for ports in published.values() for port in ports), published
    elasticsearch = services["elasticsearch"]["environment"]
    assert elasticsearch["xpack.security.enabled"] == "true"
    assert services["search"]["environment"]["SEARCH_BACKEND"] == "elasticsearch"


# ---------------------------------------------------------------------- config from the deploy files

@pytest.mark.parametrize("service", list(registry.SERVICES))
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_config_loads_from_its_deploy_files(rendered, monkeypatch, service, overlay):
    secrets = generate(Hosts())
    # production's search Secret carries an API key of a role limited to the kosi-* indices
    secrets["search.env"]["ELASTICSEARCH_API_KEY"] = "a2V5LWlkOmtleQ==" if overlay == "prod" else ""
    settings = config_maps(rendered[overlay])[f"kosi-{service}-config"]
    for key in list(os.environ):
        if key.startswith(("KOSI_", "CATALOG_", "SEARCH_", "SURVEY_", "NOTIFY_", "GATEWAY_", "SMTP_", "ELASTIC")):
            monkeypatch.delenv(key)
    for key, value in {**settings, **secrets[f"{service}.env"]}.items():
        monkeypatch.setenv(key, value)
    config = load_config(service_config_path(service))
    assert config["AMQP_URI"] == secrets[f"{service}.env"][f"{service.upper()}_AMQP_URI"]
    assert config["AMQP_URI"].startswith(f"pyamqp://kosi-{service}:")
    assert config["METRICS_ADDRESS"] == "0.0.0.0:9100"
    if service in registry.DATABASE_SERVICES:
        assert config[f"{service.upper()}_DATABASE_URL"].startswith(f"postgresql://kosi_{service}:")
        assert config[f"{service.upper()}_MIGRATE_ON_START"] is False
    assert config["LOG_JSON"] is True
    if service == "search":
        from services.search.indexer import elasticsearch_credentials

        if overlay == "prod":
            assert config["SEARCH_BACKEND"] == "elasticsearch"
            assert config["ELASTICSEARCH_URL"].startswith("https://")
            assert elasticsearch_credentials(config) == {"api_key": "a2V5LWlkOmtleQ==",
                                                         "ca_certs": "/etc/kosi/elasticsearch/ca.crt"}
        else:
            assert config["SEARCH_BACKEND"] == "tantivy" and config["SEARCH_INDEX_PATH"].startswith("/")


def test_every_setting_of_the_deploy_files_is_read_by_its_service(rendered):
    """A typo in a settings file, an overlay's literal or a setting a release removed fails."""
    from cli.config_reference import variables_read

    read = {variable: {setting.service for setting in settings} for variable, settings in variables_read().items()}
    files = {path.stem: read_env_file(path) for path in CONFIG.glob("*.env")}
    files |= {f"{overlay} {name}": data for overlay in OVERLAYS
              for name, data in config_maps(rendered[overlay]).items() if name.startswith("kosi-")}
    for name, settings in files.items():
        service = re.sub(r"^(dev |prod )?(kosi-)?|-config$", "", name).replace("operator", "cli")
        if service not in (*registry.SERVICES, "cli"):
            continue        # the dependencies' own (the postgres init script)
        unread = [key for key in settings if key != "KOSI_SERVICE" and service not in read.get(key, set())]
        assert unread == [], f"{name}: {service} reads no {unread}"


def test_the_operators_jobs_have_every_url_they_need(monkeypatch):
    secrets = generate(Hosts())
    operator = {**read_env_file(CONFIG / "operator.env"), **secrets["operator.env"]}
    for service in registry.SERVICES:
        assert operator[f"{service.upper()}_AMQP_URI"] == secrets[f"{service}.env"][f"{service.upper()}_AMQP_URI"]
    for service in registry.DATABASE_SERVICES:
        assert operator[f"{service.upper()}_DATABASE_URL"] == secrets[f"{service}.env"][f"{service.upper()}_DATABASE_URL"]
    for key, value in operator.items():
        monkeypatch.setenv(key, value)
    admin = secrets["rabbitmq.env"]
    assert registry.operator_config()["AMQP_URI"].startswith(
        f"pyamqp://{admin['RABBITMQ_DEFAULT_USER']}:{admin['RABBITMQ_DEFAULT_PASS']}@rabbitmq:5672/{admin['RABBITMQ_DEFAULT_VHOST']}")
    users = registry.broker_users()
    assert {name: user["amqp_uri"] for name, user in users.items()} == {
        service: secrets[f"{service}.env"][f"{service.upper()}_AMQP_URI"] for service in registry.SERVICES}
