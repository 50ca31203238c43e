"""Ray Train's torch backend without torch in the processes that only orchestrate.

``ray.train.torch.TorchTrainer`` is a ``DataParallelTrainer`` with a ``TorchConfig``; but importing either
imports torch (``ray.train.torch`` does at module level), and the config travels pickled to Train's
controller, so the trial actor and the controller each paid torch's import (seconds on 2 cores; BENCHMARKS.md,
M1) though neither runs a tensor. :class:`TorchBackendConfig` is the same configuration (process group on
``env://``, gloo on CPU, nccl on GPU) whose backend runs Ray's own per-worker torch functions: only the Train
workers, which train, import torch.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from ray.train.backend import Backend, BackendConfig
from ray.train.v2._internal.util import TrainingFramework

# Ray's TorchConfig default: seconds a process-group operation may take before it fails.
PROCESS_GROUP_TIMEOUT_S = 1800


@dataclass
class TorchBackendConfig(BackendConfig):
    """``ray.train.torch.TorchConfig`` (init_method ``env``), importable without torch."""

    timeout_s: int = PROCESS_GROUP_TIMEOUT_S

    @property
    def backend_cls(self):
        return TorchBackend

    @property
    def train_func_context(self):
        return _device_context

    @property
    def framework(self):
        return TrainingFramework.TORCH

    def to_dict(self) -> dict[str, Any]:
        return {"backend": None, "init_method": "env", "timeout_s": self.timeout_s}


class TorchBackend(Backend):
    """Ray's ``_TorchBackend`` for CPU and GPU workers, run from the controller: each step is one of Ray's torch
    functions executed on the workers (:func:`_on_worker`), so the controller never imports torch."""

    share_cuda_visible_devices: bool = True

    def on_start(self, worker_group, backend_config: TorchBackendConfig) -> None:
        import ray
        from ray.train._internal.utils import get_address_and_port

        backend = "nccl" if worker_group.get_resources_per_worker().get("GPU", 0) > 0 else "gloo"
        address, port = worker_group.execute_single(0, get_address_and_port)
        worker_group.execute(_set_master, address=address, port=port)
        worker_group.execute(_set_distributed_env)
        ray.get([worker_group.execute_single_async(rank, _setup_process_group, backend=backend, world_rank=rank,
                                                   world_size=len(worker_group), init_method="env://",
                                                   timeout_s=backend_config.timeout_s)
                 for rank in range(len(worker_group))])

    def on_shutdown(self, worker_group, backend_config: TorchBackendConfig) -> None:
        import ray
        from ray._private.ray_constants import env_integer
        from ray.exceptions import GetTimeoutError
        from ray.train.constants import (
            DEFAULT_TORCH_PROCESS_GROUP_SHUTDOWN_TIMEOUT_S,
            TORCH_PROCESS_GROUP_SHUTDOWN_TIMEOUT_S,
        )

        futures = worker_group.execute_async(_shutdown, destroy_process_group=len(worker_group) > 1)
        with contextlib.suppress(GetTimeoutError):  # as Ray's: a hung teardown must not hang the trial
            ray.get(futures, timeout=env_integer(TORCH_PROCESS_GROUP_SHUTDOWN_TIMEOUT_S,
                                                 DEFAULT_TORCH_PROCESS_GROUP_SHUTDOWN_TIMEOUT_S))


# What runs on the workers: module-level functions (Ray names each call after the function), each importing
# Ray's torch module there.
def _set_master(*, address: str, port: int) -> None:
    import os

    from trainer import startup

    startup.mark("worker_start")  # the first call a Train worker gets: its process and actor are up
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = address, str(port)


def _set_distributed_env() -> None:
    from ray.train.torch.config import _set_torch_distributed_env_vars

    _set_torch_distributed_env_vars()


def _setup_process_group(**kwargs: Any) -> None:
    from ray.train.torch.config import _setup_torch_process_group

    _setup_torch_process_group(**kwargs)


def _shutdown(*, destroy_process_group: bool) -> None:
    from ray.train.torch.config import _shutdown_torch

    _shutdown_torch(destroy_process_group=destroy_process_group)


@contextlib.contextmanager
def _device_context():
    """Around the train function on each worker: Ray's TorchConfig context (sets the CUDA device)."""
    from ray.train.torch.config import TorchConfigContextManager

    with TorchConfigContextManager():
        yield
