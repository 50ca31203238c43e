"""What the tests share and the product does not ship: tiny models and data, sweep files, served apps, Ray
clusters and readers of files the product only writes."""

from pathlib import Path

# The checkout under test: README.md, cluster/, examples/ and pyproject.toml are read from here.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
