"""A trial that runs out of memory starts again with half the micro-batch and the same effective batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ray.train import WorkerGroupError

from sweeps.config.loading import load_spec
from sweeps.spec import DatasetSpec, ModelSpec, SweepSpec, TrainingSpec
from tests.helpers.sweeps import write_tiny_sweep
from trainer.arguments import micro_batching, training_arguments
from trainer.trainable import out_of_memory


def spec_with(**training) -> SweepSpec:
    return SweepSpec(name="t", model=ModelSpec(path=Path("m")), dataset=DatasetSpec(path=Path("d.jsonl")),
                     training=TrainingSpec(**training))


@pytest.mark.parametrize(("batch_size", "cap", "expected"), [
    (8, None, (8, 1)), (8, 4, (4, 2)), (8, 3, (2, 4)), (8, 1, (1, 8)), (6, 4, (3, 2)), (8, 64, (8, 1)),
])
def test_micro_batch_is_the_largest_divisor_within_the_cap(batch_size, cap, expected) -> None:
    assert micro_batching(spec_with(batch_size=batch_size, micro_batch_size=cap)) == expected


def test_training_arguments_keep_the_effective_batch(tmp_path: Path) -> None:
    args = training_arguments(spec_with(batch_size=8, micro_batch_size=2), output_dir=str(tmp_path))
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (2, 4)


@pytest.mark.parametrize(("failure", "expected"), [
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"), True),
    (RuntimeError("mat1 and mat2 shapes cannot be multiplied"), False),
])
def test_out_of_memory_is_recognised_among_the_worker_failures(failure: Exception, expected: bool) -> None:
    assert out_of_memory(WorkerGroupError("rank 1 failed", {1: failure})) is expected


@pytest.mark.slow
def test_injected_out_of_memory_halves_the_micro_batch_and_the_curve_goes_on(
        tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path) -> None:
    from ray import tune

    from sweeps.config.space import effective_space
    from sweeps.run.runner import run_sweep
    from trainer.trainable import run_trial

    spec = load_spec(write_tiny_sweep(
        tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
        training={"max_steps": 9, "eval_every_steps": 3, "batch_size": 8},
        search={"num_trials": 1, "initial_points": []}, scheduler={"name": "none"},
        tracking={"wandb": {"mode": "disabled"}}))

    def runs_out_of_memory_above_four(config):  # a closure, so Ray ships it by value to its workers
        from transformers import TrainerCallback

        from trainer.arguments import micro_batching
        from trainer.train_loop import train_trial

        class OutOfMemoryAtStep4(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == 4 and micro_batching(config["trial_spec"])[0] > 4:
                    raise torch.OutOfMemoryError("injected: CUDA out of memory. Tried to allocate 2.00 GiB")

        train_trial(config, callbacks=[OutOfMemoryAtStep4()])

    trainable = tune.with_parameters(run_trial, spec=spec, searched=tuple(effective_space(spec)),
                                     loop=runs_out_of_memory_above_four)
    [result] = run_sweep(spec, trainable=trainable)

    assert result.error is None
    reports = result.metrics_dataframe
    # 8 → 4: one restart, from the step-3 checkpoint, which is not trained or reported again.
    assert reports["step"].tolist() == [3, 6, 9]
    assert reports["training_iteration"].tolist() == [1, 2, 3]
    assert reports["resumed_from_step"].tolist() == [0, 3, 3]
    assert reports["oom_retries"].tolist() == [0, 1, 1]
    assert reports["micro_batch_size"].tolist() == [8, 4, 4]
    assert reports["gradient_accumulation_steps"].tolist() == [1, 2, 2]
    assert reports["training_finished"].tolist() == [False, False, True]
