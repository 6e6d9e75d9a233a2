"""Package layout; everything else about the project is in pyproject.toml.

The prompt templates live in the top-level `prompts/` folder (edited as files, outside the code) and ship
inside the package as `qa/prompts/`, so a regular `pip install .` (a wheel, a Docker layer) has them too.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["qa", "qa.*"]), "qa.prompts"],
    package_dir={"qa.prompts": "prompts"},
    package_data={
        "qa": ["py.typed", "api/static/*", "conversation/*.json", "answer/models/*.json"],
        "qa.prompts": ["*.md", "*.txt"],
    },
)
