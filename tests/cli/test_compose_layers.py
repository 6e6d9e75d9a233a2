"""The compose files as they are layered: a plain `compose up` publishes the API on the host's 127.0.0.1 only
(docker-compose.override.yml), and `make docker-test`'s docker-compose.test.yml puts both services on the
host's network with the ports and images it chose, publishing nothing. Checked with `compose config`; the
stack itself runs in `make docker-test`."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import yaml

from tests.cli.test_packaging import _compose, _run
from tests.support import REPO


def _config(*files: str, **extra: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | extra
    flags = [arg for name in files for arg in ("-f", name)]
    return dict(yaml.safe_load(_run([*_compose(), *flags, "config"], cwd=REPO, env=env)))


def _published(service: dict[str, Any]) -> set[str]:
    out = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.add(f"{port.get('host_ip', '')}:{port['published']}:{port['target']}")
        else:
            out.add(str(port).removesuffix("/tcp"))
    return out


def test_plain_compose_up_publishes_the_api_on_loopback_only() -> None:
    services = _config()["services"]  # docker-compose.yml with docker-compose.override.yml, as `compose up` reads
    assert _published(services["api"]) == {"127.0.0.1:8000:8000"}
    assert not services["llm"].get("ports"), "the LLM server is reached by the API only"
    assert services["api"]["environment"]["QA_LLM_BASE_URL"] == "http://llm:8081/v1"


def test_the_test_stack_runs_on_the_host_network_with_the_chosen_ports_and_images() -> None:
    chosen = {
        "QA_TEST_API_IMAGE": "qa-test/api:1",
        "QA_TEST_LLM_IMAGE": "qa-test/llm:1",
        "QA_TEST_API_PORT": "18000",
        "QA_TEST_LLM_PORT": "18081",
    }
    services = _config("docker-compose.yml", "docker-compose.test.yml", **chosen)["services"]
    api, llm = services["api"], services["llm"]
    assert (api["image"], llm["image"]) == ("qa-test/api:1", "qa-test/llm:1")
    assert api["network_mode"] == llm["network_mode"] == "host"
    assert not api.get("ports") and not llm.get("ports")
    assert api["environment"]["QA_HOST"] == llm["environment"]["LLM_HOST"] == "127.0.0.1"
    assert (api["environment"]["QA_PORT"], llm["environment"]["LLM_PORT"]) == ("18000", "18081")
    assert api["environment"]["QA_LLM_BASE_URL"] == "http://127.0.0.1:18081/v1"
    assert {v.split(":")[1] for v in api["volumes"]} == {"/data/index"}


def test_the_test_stack_refuses_to_start_without_its_images_and_ports() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    cmd = [*_compose(), "-f", "docker-compose.yml", "-f", "docker-compose.test.yml", "config"]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "QA_TEST_API_IMAGE" in result.stderr or "the api image" in result.stderr, result.stderr
