"""How each trial trains: the optimizer, its schedule, the batch and the length of training."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sweeps.spec.section import Section


class TrainingSpec(Section):
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate; LoRA likes 1e-4–1e-3, "
                                 "full fine-tuning 1e-5–1e-4.")
    batch_size: int = Field(default=8, ge=1, description="Examples per optimizer step over all workers (the "
                            "global batch): each of the resources.workers takes batch_size / workers, so it must "
                            "be a multiple of workers, and 1 or N workers train on the same batches.")
    micro_batch_size: int | None = Field(
        default=None, ge=1, description="Most examples a worker puts through one forward/backward pass (None = "
        "its whole share of batch_size). The share is cut into the largest micro-batches that divide it and "
        "are no larger; gradient accumulation makes up the rest, so the effective batch stays batch_size. A "
        "trial that runs out of memory halves it and starts again by itself.")
    epochs: float = Field(default=1, gt=0, description="Passes over the training split (may be fractional).")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many optimizer steps "
                                  "(overrides epochs; None = run the epochs).")
    eval_every_steps: int = Field(default=20, ge=1, description="Evaluate and report to Ray every N optimizer "
                                  "steps: one report = one ASHA time unit.")
    optimizer: Literal["adamw", "sgd"] = Field(
        default="adamw", description="`adamw` (torch AdamW, the usual choice) or `sgd` (torch SGD, with "
        "training.momentum: without momentum no optimizer state, so less memory for `full`; wants learning rates "
        "~100× higher).")
    momentum: float = Field(default=0.0, ge=0, le=1, description="SGD momentum (training.optimizer sgd only): "
                            "0.9 is the classic; 0 = plain SGD.")
    weight_decay: float = Field(default=0.0, ge=0, description="Weight decay; 0–0.1. Decoupled for AdamW, "
                                "L2 for SGD.")
    label_smoothing: float = Field(default=0.0, ge=0, lt=1, description="Label smoothing of the loss's targets "
                                   "(HF's label_smoothing_factor): 0 = none; 0.1 is the usual for classification.")
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1, description="Share of steps with linear LR warm-up.")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        default="linear", description="Learning-rate schedule after warm-up.")
    max_grad_norm: float = Field(default=1.0, gt=0, description="Gradient clipping norm; 1.0 is the HF default.")
    gradient_checkpointing: bool = Field(default=False, description="Recompute activations in backward "
                                         "(use_reentrant=False): less memory, ~30% slower.")
    seed: int = Field(default=42, description="Seed for model init of adapters and data order.")
