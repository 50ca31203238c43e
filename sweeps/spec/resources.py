"""Where a sweep runs and what it keeps: Ray resources per trial, W&B reporting, the storage path."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sweeps.spec.section import Section


class ResourcesSpec(Section):
    workers: int = Field(default=1, ge=1, description="Ray Train workers per trial. Above 1 the base model "
                         "is FSDP2-sharded over them (each holds about 1/workers of its weights; gloo on CPU, NCCL "
                         "on GPU) and the adapter is replicated, its gradients averaged.")
    cpus_per_worker: float = Field(default=1, gt=0, description="CPUs each Train worker reserves, and its torch "
                                   "threads (rounded, at least 1). A trial holds workers × cpus_per_worker CPUs "
                                   "(its own 0.01-CPU driver comes out of them): 1 per trial on a 2-core laptop "
                                   "runs 2 trials at once.")
    use_gpu: bool = Field(default=False, description="Give each Train worker one GPU.")
    # 2: a trial survives two lost nodes in its life; a bug costs 2 restarts, each from the latest checkpoint.
    max_failures: int = Field(default=2, ge=0, description="Times a failed trial starts again, from its latest "
                              "checkpoint and on any node with room: a node or worker process lost (a spot "
                              "instance, the OOM killer) or an error in training, which Ray cannot tell apart. "
                              "0 = the first failure ends the trial.")


class WandbSpec(Section):
    mode: Literal["online", "offline", "disabled"] = Field(
        default="offline", description="offline writes run files under the sweep directory (`wandb sync` "
        "uploads them later); online needs WANDB_API_KEY in the environment or ~/.netrc.")
    project: str = Field(default="finesweep", description="W&B project; the sweep name is the run group.")
    entity: str | None = Field(default=None, description="W&B entity (team or user); None = your default.")


class TrackingSpec(Section):
    wandb: WandbSpec = Field(default_factory=WandbSpec, description="Weights & Biases reporting.")


class StorageSpec(Section):
    path: str = Field(default="runs", description="Where sweeps are stored; the sweep goes to <path>/<name>. "
                      "A local path on one machine; an NFS path or s3:// bucket for multi-node clusters.")
    keep_checkpoints: int = Field(default=2, ge=1, description="Best adapter checkpoints kept per trial.")
    shared: bool = Field(default=False, description="Declare that `path` is a mount every node sees (NFS, a "
                         "shared disk). `finesweep submit` refuses a local path on a multi-node cluster unless "
                         "it is declared shared; s3:// and gs:// paths are shared already.")
