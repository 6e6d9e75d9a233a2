"""The compose file's `scale` profile: Milvus standalone with etcd and MinIO, a one-shot seed ingest and two API
replicas on QA_STORE=milvus that share nothing but Milvus. No Docker engine runs here: the file is checked with
`compose config` and by reading what it resolves to."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_packaging import _compose, _run
from tests.support import REPO


def _config() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    return dict(yaml.safe_load(_run([*_compose(), "--profile", "scale", "config"], cwd=REPO, env=env)))


def test_scale_profile_runs_two_replicas_on_milvus_standalone(tmp_path: Path) -> None:
    services = _config()["services"]
    scale = {name for name, svc in services.items() if "scale" in svc.get("profiles", [])}
    assert scale == {"etcd", "minio", "milvus", "seed", "api-1", "api-2"}
    assert {"api", "llm"} <= set(services) and not services["api"].get("profiles")  # the default set-up stays

    milvus = services["milvus"]
    assert milvus["image"].startswith("milvusdb/milvus:v2.6") and milvus["command"] == ["milvus", "run", "standalone"]
    assert milvus["environment"]["ETCD_ENDPOINTS"] == "etcd:2379"
    assert milvus["environment"]["MINIO_ADDRESS"] == "minio:9000"
    assert {d: c["condition"] for d, c in milvus["depends_on"].items()} == {
        "etcd": "service_healthy",
        "minio": "service_healthy",
    }

    ports = set()
    for name in ("api-1", "api-2", "seed"):
        svc = services[name]
        assert svc["build"]["target"] == "api"
        assert svc["environment"]["QA_STORE"] == "milvus"
        assert svc["environment"]["QA_MILVUS_URI"] == "http://milvus:19530"
        assert not svc.get("volumes"), f"{name} must share nothing but Milvus"
        ports |= {p["published"] if isinstance(p, dict) else p for p in svc.get("ports", [])}
    assert services["seed"]["command"] == ["qa", "ingest", "data/seeds"]
    assert services["seed"]["depends_on"]["milvus"]["condition"] == "service_healthy"
    for name in ("api-1", "api-2"):
        assert services[name]["command"] == ["qa", "serve"]
        assert services[name]["depends_on"]["seed"]["condition"] == "service_completed_successfully"
    assert len(ports) == 2
