"""docker/: compose file and Dockerfiles checked statically against prompts/models.yaml."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mimir.settings import VLMEndpoint
from mimir.tools.vlm.profiles import load_profiles

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
PROFILES = load_profiles(ROOT / "prompts" / "models.yaml")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _service_for(compose: dict[str, Any], name: str) -> dict[str, Any]:
    prefix = "vllm" if PROFILES[name].vllm else "serve-vlm"
    return compose["services"][f"{prefix}-{name.replace('.', '-')}"]


def _flag(cmd: list[str], flag: str) -> str:
    assert flag in cmd, f"{flag} missing from {cmd}"
    return cmd[cmd.index(flag) + 1]


def _version(image: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.sub(r"^v", "", image.rsplit(":", 1)[1]).split(".")[:3])


def test_compose_is_generated_from_the_profiles(compose: dict[str, Any]) -> None:
    spec = importlib.util.spec_from_file_location("gen_compose", DOCKER / "gen_compose.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.build() == compose, "docker/compose.yaml is stale: run python docker/gen_compose.py"


def test_every_image_is_pinned_by_tag(compose: dict[str, Any]) -> None:
    images = [s["image"] for s in compose["services"].values()]
    for df in ("Dockerfile", "Dockerfile.cuda", "Dockerfile.vllm"):
        images += re.findall(r"^FROM\s+(\S+)", (DOCKER / df).read_text(), re.MULTILINE)
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest" and "/" not in tag, f"{image} is not pinned by tag"


def test_each_vllm_service_has_the_flags_its_profile_needs(compose: dict[str, Any]) -> None:
    for name, p in PROFILES.items():
        if p.vllm is None:
            continue
        svc = _service_for(compose, name)
        cmd = svc["command"]
        assert svc["image"] == "mimir-vllm:0.1.0" and svc["build"]["dockerfile"] == "docker/Dockerfile.vllm"
        assert _flag(cmd, "--served-model-name") == p.served_name
        assert int(_flag(cmd, "--max-model-len")) == p.context_length
        if p.kind == "vlm":
            assert json.loads(_flag(cmd, "--limit-mm-per-prompt")) == {"image": p.images_accepted}
        if p.vllm.chat_template:
            assert _flag(cmd, "--chat-template") == p.vllm.chat_template
            assert p.vllm.chat_template.startswith("/templates/")  # copied into the image by Dockerfile.vllm
            assert (DOCKER / "templates" / Path(p.vllm.chat_template).name).is_file()
        assert svc["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
        assert "/health" in " ".join(svc["healthcheck"]["test"])


def test_one_current_vllm_image_with_the_plugin_serves_every_profile(compose: dict[str, Any]) -> None:
    bases = {p.vllm.image for p in PROFILES.values() if p.vllm}
    text = (DOCKER / "Dockerfile.vllm").read_text()
    [base] = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert bases == {base}, "every profile must name the base image of docker/Dockerfile.vllm"
    assert base.startswith("vllm/vllm-openai:") and _version(base) >= (0, 32, 0)
    assert re.search(r"pip install [^\n]*--no-deps /opt/mimir-vllm", text) and "COPY vllm-plugin" in text
    assert "COPY docker/templates /templates" in text
    plugin = (ROOT / "vllm-plugin" / "pyproject.toml").read_text()
    assert '[project.entry-points."vllm.general_plugins"]' in plugin and "mimir_vllm:register" in plugin
    assert "dependencies = []" in plugin  # installs into any vLLM environment without touching its torch


def test_mantis_runs_on_current_vllm_with_the_architecture_override(compose: dict[str, Any]) -> None:
    for name in ("mantis-8b-siglip-llama3", "med-mantis"):
        svc = _service_for(compose, name)
        assert svc["image"] == "mimir-vllm:0.1.0" and PROFILES[name].vllm.max_version is None  # type: ignore[union-attr]
        override = json.loads(_flag(svc["command"], "--hf-overrides"))
        assert override == {"architectures": ["MantisForConditionalGeneration"]}


def test_planner_llm_has_tool_calling(compose: dict[str, Any]) -> None:
    [(name, _)] = [(n, p) for n, p in PROFILES.items() if p.kind == "planner"]
    cmd = _service_for(compose, name)["command"]
    assert "--enable-auto-tool-choice" in cmd and _flag(cmd, "--tool-call-parser") == "hermes"
    env = compose["services"]["mimir-gpu"]["environment"]
    assert env["MIMIR_PLANNER"] == "llm" and env["MIMIR_PLANNER_MODEL"] == PROFILES[name].served_name


def test_medm_vl_2d_on_vllm_and_the_ct_model_on_mimir_serve_vlm(compose: dict[str, Any]) -> None:
    svc = _service_for(compose, "medm-vl-2d-3b")
    assert svc["image"] == "mimir-vllm:0.1.0" and _flag(svc["command"], "--chat-template") == "/templates/medm-vl.jinja"
    svc = _service_for(compose, "medm-vl-ct-chest-3b")  # 3D volumes: MedM-VL's own code
    assert svc["command"][:2] == ["mimir", "serve-vlm"] and _flag(svc["command"], "--profile") == "medm-vl-ct-chest-3b"
    assert "/healthz" in " ".join(svc["healthcheck"]["test"])


def test_mimir_gpu_knows_every_vlm_and_waits_for_its_services(compose: dict[str, Any]) -> None:
    svc = compose["services"]["mimir-gpu"]
    endpoints = [VLMEndpoint.model_validate(e) for e in json.loads(svc["environment"]["MIMIR_VLM"])]
    assert {e.profile for e in endpoints} == {n for n, p in PROFILES.items() if p.kind == "vlm"}
    for e in endpoints:
        host = e.base_url.split("//")[1].split(":")[0]
        assert host in compose["services"] and host in svc["depends_on"]
    assert svc["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert svc["environment"]["MIMIR_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_ports_volumes_and_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("mimir", "mimir-gpu"):
        svc = services[name]
        assert svc["ports"] == ["127.0.0.1:7860:7860"], "publish on loopback only"
        mounts = {v.split(":")[1] for v in svc["volumes"]}
        assert {"/data", "/models/hf", "/models/totalseg", "/models/bundles"} <= mounts
        assert "/healthz" in " ".join(svc["healthcheck"]["test"])
        assert "MIMIR_AUTH_TOKEN" in svc["environment"]
    assert services["mimir"]["profiles"] == ["cpu"] and services["mimir-gpu"]["profiles"] == ["gpu"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    declared = set(compose["volumes"])
    for svc in services.values():
        for v in svc.get("volumes", []):
            source = v.split(":")[0]
            assert source.startswith(".") or source in declared, f"volume {source} not declared"
    for name, svc in services.items():
        if not name.startswith("ray-") or name == "ray-head":
            assert "healthcheck" in svc, f"{name} has no healthcheck"
        for dep in svc.get("depends_on", {}).values():
            assert dep["condition"] == "service_healthy"


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.cuda"])
def test_dockerfiles(dockerfile: str) -> None:
    text = (DOCKER / dockerfile).read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    assert re.search(r"^HEALTHCHECK .*\n?.*?/healthz", text, re.MULTILINE)
    assert re.search(r'pip install [^\n]*-e "\.\[all\]"', text), "every extra, as the Makefile installs (-e \".[all]\")"
    assert "send_usage_stats" in text  # TotalSegmentator telemetry off
    for folder in ("mimir", "agent", "tools", "memory", "prompts", "evals", "app"):
        assert f"COPY {folder} ./{folder}" in text
    if dockerfile == "Dockerfile.cuda":
        assert "faiss-gpu" in text and "/whl/cu" in text


def test_smoke_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(DOCKER / "smoke.sh")], check=True)


def test_docker_compose_config() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"docker client has no compose plugin: {probe.stderr.strip() or probe.stdout.strip()}")
    env = {"MIMIR_AUTH_TOKEN": "x", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    result = subprocess.run([docker, "compose", "-f", str(DOCKER / "compose.yaml"), "--profile", "cpu",
                             "--profile", "gpu", "--profile", "ray", "config", "-q"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
