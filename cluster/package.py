"""What ``finesweep submit`` ships: the project checkout and the sweep file, zipped for Ray's Job API.

The zip is built here rather than by Ray so that its exact content and size are known before anything is
sent: generated files (environments, caches, sweep outputs, model weights) and anything that may hold a
secret never leave the laptop, the project's ``.gitignore`` and ``.rayignore`` apply as they do for
``ray job submit --working-dir .``, and the size is checked against the Job API's 100 MiB upload limit.

Paths in the sweep file travel like this: the file sits at its own place in the project (or under
``.finesweep/submitted/`` when it lives outside), so a relative ``model.path`` or ``dataset.path`` resolves
on the cluster exactly as here, provided the file it names is shipped; absolute paths are paths on the
cluster's nodes. ``storage.path`` must be absolute or a URI: a relative one would land in the job's
temporary working directory, which Ray deletes.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sweeps.core.errors import UserError

UPLOAD_LIMIT_BYTES = 100 * 1024**2  # the dashboard refuses bigger request bodies (Ray's working_dir cap)
SUBMITTED_DIR = ".finesweep/submitted"  # where a sweep file from outside the project is placed
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # same files, same bytes, same package hash: Ray skips re-uploads
EXCLUDES = (
    # Generated: local environments, caches, builds, sweep outputs, model weights, benchmark output.
    ".git/", ".venv/", "venv/", "__pycache__/", "*.pyc", "*.egg-info/", "build/", "dist/", ".pytest_cache/",
    ".ruff_cache/", "runs/", "wandb/", "ray_results/", "/examples/models/", "/bench/out/", "/.finesweep/",
    # Secrets: tokens, keys and environment files stay on the laptop.
    ".env", ".env.*", "*.token", "auth_token", ".netrc", "*.pem", "*.key", "id_rsa*", "id_ed25519*", ".ray/",
)
IGNORE_FILES = (".gitignore", ".rayignore")


def project_root() -> Path:
    """The checkout that holds this package: what a job ships as its working directory."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise UserError(f"finesweep runs from {root}, which is not a project checkout (no pyproject.toml); "
                        f"`finesweep submit` ships a checkout: install it with `pip install -e <checkout>`")
    return root


def ignore_matcher(project: Path) -> Callable[[str], bool]:
    """Whether a project-relative posix path (a folder ends in ``/``) stays on the laptop."""
    # Ray's vendored gitignore matcher, so these rules mean what they mean to `ray job submit`.
    from ray._private.thirdparty.pathspec import PathSpec

    lines = list(EXCLUDES)
    for name in IGNORE_FILES:
        if (project / name).is_file():
            lines += (project / name).read_text().splitlines()
    return PathSpec.from_lines("gitwildmatch", lines).match_file


def shipped_files(project: Path) -> list[str]:
    """Project-relative posix paths of every file that ships, sorted."""
    ignored = ignore_matcher(project)
    files = []
    for folder, dirs, names in os.walk(project):
        base = Path(folder).relative_to(project).as_posix()
        prefix = "" if base == "." else f"{base}/"
        dirs[:] = [name for name in dirs if not ignored(f"{prefix}{name}/")]
        files += [f"{prefix}{name}" for name in names if not ignored(f"{prefix}{name}")]
    return sorted(files)


def spec_arcname(spec_path: Path, project: Path) -> str:
    """Where the sweep file sits in the working dir: its own place in the project, if it is in it."""
    resolved = spec_path.resolve()
    if resolved.is_relative_to(project):
        return resolved.relative_to(project).as_posix()
    return f"{SUBMITTED_DIR}/{resolved.name}"


def path_problems(raw: Mapping[str, Any], *, spec_path: Path, project: Path, shipped: set[str]) -> list[str]:
    """Paths in the sweep file (``raw``, overrides applied) that would not mean the same on the cluster."""
    problems = []
    spec_dir = spec_path.resolve().parent
    for section, wanted in (("model", "/config.json"), ("dataset", "")):
        value = (raw.get(section) or {}).get("path")
        if not isinstance(value, str) or is_cluster_path(value):
            continue
        target = (spec_dir / value).resolve()
        if not spec_path.resolve().is_relative_to(project) or not target.is_relative_to(project):
            problems.append(f"{section}.path: {value!r} is relative, but it does not resolve inside the project "
                            f"next to the shipped sweep file; give a path every node can read (absolute, on "
                            f"shared storage)")
        elif f"{target.relative_to(project).as_posix()}{wanted}" not in shipped:
            problems.append(f"{section}.path: {value!r} is not shipped with the project (generated, ignored or "
                            f"secret files stay here, see cluster/README.md); put it on storage every node "
                            f"can read and give its absolute path")
    storage = (raw.get("storage") or {}).get("path", "runs")
    if isinstance(storage, str) and not is_cluster_path(storage):
        problems.append(f"storage.path: {storage!r} is relative: on the cluster it would land in the job's "
                        f"temporary working directory, which Ray deletes; give an absolute path on shared "
                        f"storage (NFS) or an s3:// / gs:// URI")
    return problems


def is_cluster_path(value: str) -> bool:
    """Absolute, home-relative or a URI: a path that names the same place on every node."""
    return value.startswith(("/", "~")) or "://" in value


def write_package(*, project: Path, files: list[str], spec_path: Path, arcname: str, dest: Path) -> int:
    """Zip ``files`` and the sweep file (at ``arcname``) into ``dest``; returns its size in bytes, refusing
    a package over the upload limit before anything is sent."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for relative in [name for name in files if name != arcname]:
            _add(package, project / relative, relative)
        _add(package, spec_path, arcname)
    size = dest.stat().st_size
    if size >= UPLOAD_LIMIT_BYTES:
        largest = sorted(files, key=lambda name: (project / name).stat().st_size, reverse=True)[:5]
        listed = ", ".join(f"{name} ({(project / name).stat().st_size / 2**20:.1f} MiB)" for name in largest)
        raise UserError(f"the project to ship is {size / 2**20:.1f} MiB zipped, over Ray's "
                        f"{UPLOAD_LIMIT_BYTES // 2**20} MiB upload limit; nothing was sent. Largest files: "
                        f"{listed}. Move big files to shared storage or list them in .rayignore")
    return size


def _add(package: zipfile.ZipFile, source: Path, arcname: str) -> None:
    # At the zip's root: Ray unpacks an uploaded zip as the working dir as it is (it strips a single top
    # folder only from remote packages).
    info = zipfile.ZipInfo(arcname, date_time=FIXED_ZIP_TIME)
    info.external_attr = (source.stat().st_mode & 0o777) << 16  # keep executable bits
    info.compress_type = zipfile.ZIP_DEFLATED
    package.writestr(info, source.read_bytes())


def pinned_requirements() -> list[str]:
    """The project's dependencies pinned to the versions installed here, for ``runtime_env["pip"]``.
    Ray itself is left out: the job runs on the cluster's Ray, which must be the same version."""
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = []
    for line in requires("finesweep") or []:
        requirement = Requirement(line)
        if requirement.name == "ray" or (requirement.marker and "extra" in str(requirement.marker)):
            continue
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        # The public version: a local build label (torch's `+cpu`) is not on the cluster's index.
        pins.append(f"{requirement.name}{extras}=={Version(version(requirement.name)).public}")
    return pins
