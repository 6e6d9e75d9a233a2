"""The project as a package: a wheel built from the sources, installed into a new virtualenv, answers over
the seeds with `qa ask`; the compose file the README tells people to use is valid.

The wheel and the virtualenv are real; only the heavy third-party dependencies (torch, transformers, FAISS)
are reused from the test environment through a `.pth` file added after the install, so the test needs no
network and the code that runs is the wheel's, not the checkout's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support import REPO, SEEDS, qa_env

# what setup.py packages, and nothing else: a file the build forgot cannot come from the checkout
_SOURCES = ("pyproject.toml", "setup.py", "README.md", "qa", "prompts")


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(cmd)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv holding the project's wheel; returns its bin/ folder."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    for name in _SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    dist = root / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist), str(src)], cwd=root)
    (wheel,) = dist.glob("qa-*.whl")

    venv = root / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=root)
    bin_dir = venv / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], cwd=root)
    # after the install, so pip never sees the test environment's packages (nor its editable qa)
    site = Path(
        _run(
            [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root
        ).strip()
    )
    shared = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_shared_dependencies.pth").write_text("\n".join(sorted(shared)) + "\n", encoding="utf-8")
    return bin_dir


def _env(index_dir: Path) -> dict[str, str]:
    env = qa_env(index_dir)
    env.pop("PYTHONPATH", None)
    return env


def test_wheel_ships_code_prompts_and_static_files(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json, qa, qa.answer.prompts as p, importlib.resources as r\n"
        "print(json.dumps({'qa': qa.__file__, 'prompts': str(p.load_templates('zh').source),"
        " 'widget': r.files('qa').joinpath('api/static/widget.js').is_file()}))"
    )
    found = json.loads(_run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=_env(tmp_path)))
    venv = installed.parent.resolve()
    assert Path(found["qa"]).resolve().is_relative_to(venv), found
    assert Path(found["prompts"]).resolve().is_relative_to(venv) and Path(found["prompts"]).name == "prompts", found
    assert found["widget"] is True
    for template in sorted((REPO / "prompts").glob("*.md")):
        assert (Path(found["prompts"]) / template.name).read_text(encoding="utf-8") == template.read_text(
            encoding="utf-8"
        )


def test_installed_qa_ingests_the_seeds_and_answers(installed: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    env = _env(index_dir)
    out = _run([str(installed / "qa"), "ingest", str(SEEDS)], cwd=tmp_path, env=env)
    assert "added 5" in out, out
    body = json.loads(_run([str(installed / "qa"), "ask", "房寺镇下放了多少项权力?", "--json"], cwd=tmp_path, env=env))
    assert body["found"] is True and "64" in body["answer"], body
    seeds = {p.stem for p in SEEDS.glob("*.txt")}
    assert body["citations"] and {c["doc_id"] for c in body["citations"]} <= seeds, body


def _compose() -> list[str]:
    """The compose command that is installed: Docker's plugin, else the standalone docker-compose."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    standalone = shutil.which("docker-compose")
    assert standalone, "no compose implementation: `make test-deps` installs Debian's docker-compose"
    return [standalone]


def test_compose_file_is_valid(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    config = _run([*_compose(), "config"], cwd=REPO, env=env)
    # each service is built from its own target of the one Dockerfile; nothing is installed at start
    assert "target: api" in config and "target: llm" in config, config
    assert "pip install" not in config, config
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert {"api", "llm"} <= set(re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, re.MULTILINE))
    # a regular install of the checkout (with or without extras), never an editable one
    assert re.search(r'pip install --no-cache-dir "?\.(\[[\w,]+\])?"?\s', dockerfile), dockerfile
    assert "install -e" not in dockerfile and "--editable" not in dockerfile
