"""FSDP2 sharding of a trial's base model over its Ray Train workers, the same way on CPU (gloo) and GPU (NCCL).

Why this path and not ``TrainingArguments(fsdp=...)``: on CPU, accelerate keeps its ``MULTI_CPU`` type and the
``fsdp`` arguments are silently ignored, so every worker would hold the whole model. transformers 5's
``from_pretrained(distributed_config=DistributedConfig(fsdp_size=N))`` instead applies torch's ``fully_shard``
at load time on whichever device torch runs on (each rank reads only its shard), and the HF ``Trainer`` supports
a PEFT adapter attached afterwards: it leaves such a model unwrapped, broadcasts the adapter (a plain, replicated
tensor next to the sharded base weights) from rank 0 and averages its gradients over all ranks.

So: base weights sharded (about 1/N per worker), adapter replicated (a few MB). Nothing here falls back to
replication silently: :func:`check_sharded` refuses a model whose base weights did not end up sharded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# The torch.distributed backend that can run FSDP2's collectives on each device type.
BACKEND_FOR_DEVICE = {"cpu": "gloo", "cuda": "nccl"}


class ShardingError(RuntimeError):
    """Sharding was requested (resources.workers > 1) but cannot be done as asked."""


def sharding_device_type() -> str:
    """The device type FSDP2 will shard on here: the available accelerator, else ``cpu`` (as transformers
    picks it when it builds the device mesh)."""
    import torch

    accelerator = torch.accelerator.current_accelerator(check_available=True)
    return accelerator.type if accelerator is not None else "cpu"


def sharded_loading_kwargs(*, workers: int) -> dict[str, Any]:
    """Extra ``from_pretrained`` keyword arguments that shard the base model over ``workers`` ranks
    (none for one worker). Raises :class:`ShardingError` if this process cannot shard that way."""
    if workers == 1:
        return {}
    from transformers.distributed import DistributedConfig

    check_can_shard(workers=workers)
    return {"distributed_config": DistributedConfig(fsdp_size=workers)}


def check_can_shard(*, workers: int) -> None:
    """Raise :class:`ShardingError` unless a process group of ``workers`` ranks exists whose backend can run
    FSDP2 on this device (gloo for CPU, NCCL for CUDA). Checked before loading, so the message names the
    cause instead of a collective failing or hanging later."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        raise ShardingError(f"resources.workers={workers} shards the model over {workers} processes, but "
                            "torch.distributed is not initialised here (Ray Train's TorchTrainer initialises it)")
    if dist.get_world_size() != workers:
        raise ShardingError(f"resources.workers={workers}, but the process group has {dist.get_world_size()} ranks")
    device = sharding_device_type()
    backend = str(dist.get_backend())
    needed = BACKEND_FOR_DEVICE.get(device)
    if needed is None or needed not in backend:
        raise ShardingError(f"cannot shard on {device!r} over the {backend!r} process group: FSDP2 here needs "
                            f"{needed or 'a supported device (cpu or cuda)'}; set resources.use_gpu to match the "
                            "workers' devices")


def check_sharded(model: torch.nn.Module, *, workers: int) -> None:
    """Raise :class:`ShardingError` unless every parameter of ``model`` is split over ``workers`` ranks."""
    replicated = [name for name, param in model.named_parameters() if not _is_sharded(param, workers=workers)]
    if replicated:
        shown = ", ".join(replicated[:3]) + (", ..." if len(replicated) > 3 else "")
        raise ShardingError(f"resources.workers={workers} asks for FSDP2 sharding, but {len(replicated)} base "
                            f"weights were loaded unsharded ({shown}); refusing to train a replicated model")


def _is_sharded(param: torch.Tensor, *, workers: int) -> bool:
    from torch.distributed.tensor import DTensor, Shard

    return (isinstance(param, DTensor) and param.device_mesh.size() == workers
            and any(isinstance(placement, Shard) for placement in param.placements))


def local_parameter_counts(model: torch.nn.Module) -> tuple[int, int]:
    """``(held here, in the whole model)`` parameter counts: a sharded weight counts its local shard only."""
    from torch.distributed.tensor import DTensor

    local = total = 0
    for param in model.parameters():
        local += param.to_local().numel() if isinstance(param, DTensor) else param.numel()
        total += param.numel()
    return local, total


def full_trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The trainable (adapter) weights as full, standalone CPU tensors, keyed as in ``model.state_dict()``.

    Every rank must call this together: gathering a sharded (DTensor) weight is a collective. With the
    loading above the adapter is replicated and nothing is communicated, but a sharded adapter (another
    wrapping) is gathered rather than saved as one rank's slice.
    """
    from torch.distributed.tensor import DTensor

    state = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            full = param.full_tensor() if isinstance(param, DTensor) else param
            state[name] = full.detach().to("cpu", copy=True).contiguous()
    return state
