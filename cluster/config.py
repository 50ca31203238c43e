"""Which cluster a command talks to, and the token that proves who is asking.

The address is the Ray Job API of the head node (the dashboard port, ``http://HEAD:8265``). It comes from
``--address``, else ``--cluster NAME`` in the clusters file, else ``RAY_API_SERVER_ADDRESS`` or ``RAY_ADDRESS``
(as for ``ray job submit``), else the clusters file's ``default``. The token comes from ``--token-file``, else
``RAY_AUTH_TOKEN``, else the named cluster's ``token_file``, else ``RAY_AUTH_TOKEN_PATH``; no token means an
unauthenticated cluster. The clusters file (``~/.config/finesweep/clusters.yaml``) looks like::

    default: lab
    clusters:
      lab:
        address: http://10.0.0.5:8265
        token_file: ~/.config/finesweep/lab.token   # the token itself never goes in this file
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sweeps.config.yaml_files import parse_yaml
from sweeps.core.errors import UserError

CLUSTERS_FILE_ENV = "FINESWEEP_CLUSTERS_FILE"  # another clusters file (tests, several setups)
ADDRESS_ENVS = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")


class ClusterEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(description="Job API URL of the head node, http://HEAD:8265.")
    token_file: Path | None = Field(default=None, description="File holding the cluster's Ray auth token.")


class ClustersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: str | None = Field(default=None, description="The cluster used when no address is given.")
    clusters: dict[str, ClusterEntry] = Field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """A Job API address and, for a token-authenticated cluster, the token (kept out of repr and logs)."""

    address: str
    source: str  # where the address came from, for error messages
    token: str | None = field(default=None, repr=False)


def clusters_file() -> Path:
    if os.environ.get(CLUSTERS_FILE_ENV):
        return Path(os.environ[CLUSTERS_FILE_ENV]).expanduser()
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "finesweep" / "clusters.yaml"


def read_clusters(path: Path) -> ClustersFile:
    """The clusters file at ``path``; an absent file is an empty one."""
    if not path.is_file():
        return ClustersFile()
    try:
        return ClustersFile.model_validate(parse_yaml(path.read_text()) or {})
    except yaml.YAMLError as error:
        reason = f"not valid YAML: {str(error).splitlines()[0]}"
    except ValidationError as error:
        first = error.errors()[0]
        reason = f"{'.'.join(map(str, first['loc'])) or 'the file'}: {first['msg']}"
    raise UserError(f"{path}: {reason} (see cluster/README.md for the format)")


def resolve_target(*, address: str | None = None, cluster: str | None = None,
                   token_file: Path | None = None) -> Target:
    """The cluster to talk to and its token, from the options, the environment and the clusters file."""
    path = clusters_file()
    known = read_clusters(path)
    # An explicit address wins; a named cluster next; the environment before the file's default.
    name = None if address else cluster or (None if _env_address() else known.default)
    if name is not None and name not in known.clusters:
        listed = ", ".join(sorted(known.clusters)) or "none"
        raise UserError(f"no cluster named {name!r} in {path} (clusters there: {listed})")
    entry = known.clusters[name] if name else None
    if address:
        source = "--address"
    elif entry:
        address, source = entry.address, f"cluster {name!r} in {path}"
    elif _env_address():
        address, source = _env_address()
    else:
        raise UserError(f"no cluster address: give --address http://HEAD:8265, set RAY_ADDRESS, or name a "
                        f"cluster (--cluster NAME) in {path}")
    return Target(address=job_api_url(address, source=source), source=source,
                  token=read_token(token_file=token_file, cluster_token_file=entry.token_file if entry else None))


def _env_address() -> tuple[str, str] | None:
    for name in ADDRESS_ENVS:
        if os.environ.get(name):
            return os.environ[name], name
    return None


def job_api_url(address: str, *, source: str) -> str:
    """``address`` as the Job API URL: a bare ``host:port`` gets ``http://``."""
    address = address.strip().rstrip("/")
    if address in ("auto", "local") or address.startswith("ray://"):
        raise UserError(f"{source}: {address!r} is not a Job API address; give the head's dashboard URL, "
                        f"e.g. http://HEAD:8265")
    return address if "://" in address else f"http://{address}"


def read_token(*, token_file: Path | None, cluster_token_file: Path | None) -> str | None:
    """The Ray auth token, or None for a cluster without token authentication."""
    if token_file is not None:
        return _token_from(token_file, source="--token-file")
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return os.environ["RAY_AUTH_TOKEN"].strip()
    if cluster_token_file is not None:
        return _token_from(cluster_token_file, source="the clusters file's token_file")
    if os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return _token_from(Path(os.environ["RAY_AUTH_TOKEN_PATH"]), source="RAY_AUTH_TOKEN_PATH")
    return None


def _token_from(path: Path, *, source: str) -> str:
    path = path.expanduser()
    try:
        token = path.read_text().strip()
    except OSError as error:
        raise UserError(f"{source}: cannot read the token file {path}: {error.strerror}") from None
    if not token:
        raise UserError(f"{source}: the token file {path} is empty")
    return token
