"""Write docker/compose.yaml from prompts/models.yaml, so the vLLM flags follow the model profiles.

Run from the repository root after editing a profile:  python docker/gen_compose.py
tests/test_docker_static.py fails when compose.yaml and models.yaml disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIMIR_VERSION = "0.1.0"
POSTGRES_IMAGE = "postgres:17.2-bookworm"
RAY_IMAGE = "rayproject/ray:2.60.0-py312"
CPU_IMAGE = f"mimir:{MIMIR_VERSION}-cpu"
CUDA_IMAGE = f"mimir:{MIMIR_VERSION}-cuda"
VLLM_IMAGE = f"mimir-vllm:{MIMIR_VERSION}"
VLLM_BUILD = {"context": "..", "dockerfile": "docker/Dockerfile.vllm"}
GPU = {"resources": {"reservations": {"devices": [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]}}}
PY_HEALTH = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=4)"
# Variables only the gpu profile needs default to empty, because compose interpolates every service
# whatever the profile; the servers then refuse to start without them (see docs/deploy.md).
KEY = "${MIMIR_VLM_API_KEY:-}"
KEY_REF = "${MIMIR_VLM_API_KEY}"
MODEL_VOLUMES = ["hf-cache:/models/hf", "totalseg-weights:/models/totalseg", "monai-bundles:/models/bundles"]


def service_name(prefix: str, profile: str) -> str:
    """A compose service (and DNS) name: dots in profile names become dashes."""
    return f"{prefix}-{profile.replace('.', '-')}"


def health(python: str, port: int, path: str, start: str) -> dict[str, Any]:
    """A healthcheck that needs only Python in the image."""
    return {"test": ["CMD", python, "-c", PY_HEALTH.format(port=port, path=path)],
            "interval": "15s", "timeout": "5s", "retries": 5, "start_period": start}


def vllm_command(name: str, p: Any) -> list[str]:
    """The `vllm serve` arguments a profile needs (the image's entrypoint is the server)."""
    cmd = ["--model", f"/models/vlm/{name}", "--served-model-name", p.served_name,
           "--max-model-len", str(p.context_length), "--host", "0.0.0.0", "--port", "8000"]
    if p.kind == "vlm":
        cmd += ["--limit-mm-per-prompt", json.dumps({"image": p.images_accepted})]
    if p.vllm.chat_template:
        cmd += ["--chat-template", p.vllm.chat_template]
    return cmd + list(p.vllm.args)


def vllm_base(profiles: dict[str, Any]) -> str:
    """The one vLLM image every profile names (mimir-vllm is built on it); refuses a mix."""
    bases = {p.vllm.image for p in profiles.values() if p.vllm}
    if len(bases) != 1:
        raise ValueError(f"prompts/models.yaml names several vLLM images {sorted(bases)}: use one for every profile")
    return bases.pop()


def vllm_service(name: str, p: Any) -> dict[str, Any]:
    """One vLLM server for one profile, on the shared vLLM image with mimir's plug-in."""
    return {
        "image": VLLM_IMAGE, "build": VLLM_BUILD, "profiles": ["gpu"], "command": vllm_command(name, p),
        "ipc": "host",
        "environment": {"HF_HUB_OFFLINE": "1", "VLLM_API_KEY": KEY, "VLLM_NO_USAGE_STATS": "1",
                        "DO_NOT_TRACK": "1"},
        "volumes": ["vlm-models:/models/vlm:ro"],
        "expose": ["8000"], "deploy": GPU, "restart": "unless-stopped",
        "healthcheck": health("python3", 8000, "/health", "600s"),
    }


def serve_vlm_service(name: str, p: Any) -> dict[str, Any]:
    """`mimir serve-vlm` for a model vLLM cannot serve (MedM-VL, through its own code)."""
    return {
        "image": CUDA_IMAGE, "profiles": ["gpu"],
        "command": ["mimir", "serve-vlm", "--model-path", f"/models/vlm/{name}", "--profile", name,
                    "--host", "0.0.0.0", "--port", "8000"],
        "environment": {"MIMIR_SERVE_VLM_API_KEY": KEY, "PYTHONPATH": "/opt/medm-vl"},
        "volumes": ["vlm-models:/models/vlm:ro", "medm-vl-code:/opt/medm-vl:ro"],
        "expose": ["8000"], "deploy": GPU, "restart": "unless-stopped",
        "healthcheck": health("python", 8000, "/healthz", "300s"),
    }


def mimir_env(vlm_endpoints: list[dict[str, str]], planner: tuple[str, Any] | None) -> dict[str, str]:
    """Environment of the GPU mimir service: PostgreSQL, every VLM, the LLM planner."""
    env = {
        "MIMIR_AUTH_TOKEN": "${MIMIR_AUTH_TOKEN:?set MIMIR_AUTH_TOKEN: mimir listens off loopback in a container}",
        "MIMIR_DATABASE_URL": "postgresql+psycopg://mimir:${POSTGRES_PASSWORD:-}@postgres:5432/mimir",
        "MIMIR_DEVICE": "cuda",
        "MIMIR_BUNDLES_DIRS": '["/models/bundles"]',
        "MIMIR_VLM": json.dumps(vlm_endpoints),
    }
    if planner:
        name, p = planner
        env |= {"MIMIR_PLANNER": "llm", "MIMIR_PLANNER_BASE_URL": f"http://{service_name('vllm', name)}:8000/v1",
                "MIMIR_PLANNER_MODEL": p.served_name, "MIMIR_PLANNER_API_KEY": KEY}
    return env


def build() -> dict[str, Any]:
    """The whole compose file."""
    from mimir.tools.vlm.profiles import load_profiles

    profiles = load_profiles(ROOT / "prompts" / "models.yaml")
    vllm_base(profiles)
    services: dict[str, Any] = {}
    endpoints: list[dict[str, str]] = []
    planner: tuple[str, Any] | None = None
    depends: dict[str, dict[str, Any]] = {"postgres": {"condition": "service_healthy"}}
    for name, p in profiles.items():
        svc = service_name("vllm" if p.vllm else "serve-vlm", name)
        services[svc] = vllm_service(name, p) if p.vllm else serve_vlm_service(name, p)
        if p.kind == "planner":
            planner = (name, p)
            depends[svc] = {"condition": "service_healthy"}
        else:
            endpoints.append({"profile": name, "base_url": f"http://{svc}:8000/v1", "api_key": KEY_REF})
            depends[svc] = {"condition": "service_healthy", "required": False}
    mimir_common = {"volumes": ["mimir-data:/data", *MODEL_VOLUMES], "restart": "unless-stopped",
                    "healthcheck": health("python", 7860, "/healthz", "60s")}
    return {
        "name": "mimir",
        "services": {
            "mimir": {"image": CPU_IMAGE, "build": {"context": "..", "dockerfile": "docker/Dockerfile"},
                      "profiles": ["cpu"], "ports": ["127.0.0.1:7860:7860"],
                      "environment": {"MIMIR_AUTH_TOKEN": mimir_env([], None)["MIMIR_AUTH_TOKEN"]}, **mimir_common},
            "mimir-gpu": {"image": CUDA_IMAGE, "build": {"context": "..", "dockerfile": "docker/Dockerfile.cuda"},
                          "profiles": ["gpu"], "ports": ["127.0.0.1:7860:7860"], "environment": mimir_env(endpoints, planner),
                          "depends_on": depends, "deploy": GPU, **mimir_common},
            "postgres": {
                "image": POSTGRES_IMAGE, "profiles": ["gpu"], "restart": "unless-stopped",
                "environment": {"POSTGRES_USER": "mimir", "POSTGRES_DB": "mimir",
                                "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-}"},
                "volumes": ["pg-data:/var/lib/postgresql/data"], "expose": ["5432"],
                "healthcheck": {"test": ["CMD", "pg_isready", "-U", "mimir", "-d", "mimir"], "interval": "10s",
                                "timeout": "5s", "retries": 10, "start_period": "20s"}},
            **services,
            "ray-head": {"image": RAY_IMAGE, "profiles": ["ray"], "expose": ["6379", "8265"],
                         "command": ["ray", "start", "--head", "--port=6379", "--dashboard-host=0.0.0.0",
                                     "--num-cpus=0", "--block"], "shm_size": "2gb",
                         "healthcheck": {"test": ["CMD", "ray", "status"], "interval": "15s", "timeout": "10s",
                                         "retries": 10, "start_period": "30s"}},
            "ray-worker": {"image": CUDA_IMAGE, "profiles": ["ray"], "shm_size": "8gb", "deploy": GPU,
                           "command": ["ray", "start", "--address=ray-head:6379", "--block"],
                           "volumes": ["mimir-data:/data", *MODEL_VOLUMES],
                           "depends_on": {"ray-head": {"condition": "service_healthy"}}},
        },
        "volumes": {v: {} for v in ("mimir-data", "hf-cache", "totalseg-weights", "monai-bundles", "vlm-models",
                                    "medm-vl-code", "pg-data")},
    }


HEADER = """\
# Generated by docker/gen_compose.py from prompts/models.yaml: edit those, then re-run
#   python docker/gen_compose.py
# Profiles: cpu (mimir alone, embedded defaults), gpu (mimir + PostgreSQL + one model server per
# profile), ray (a Ray head and GPU workers for `mimir eval --engine ray`). See docs/deploy.md.
"""


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def main() -> None:
    """Write compose.yaml next to this script."""
    text = HEADER + yaml.dump(build(), Dumper=_NoAliases, sort_keys=False, width=1000)
    (Path(__file__).parent / "compose.yaml").write_text(text)


if __name__ == "__main__":
    main()
