"""M5 checkpoints: what keep-best adapter checkpoints cost, and how big they are.

Time: the same real tiny sweep (one trial, a report every 20 steps) with finesweep's reports carrying the
adapter checkpoint vs. reports without one (``RayReportCallback(checkpoints=False)``, a bench-only switch),
alternated and repeated in one Ray session; the sweep's wall time and the loop's own time are compared.
Size: adapter bytes ÷ model bytes, for the tiny model (files on disk) and for SmolLM2-135M with LoRA r=8 on
q_proj, v_proj (parameters counted on PyTorch's meta device; fp32 bytes as finesweep saves them).

    python -m bench.m5_checkpoints [--repeats 3]
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, OUT, TINY_SWEEP, fresh_dir, save, spread, tiny_files
from bench.loops import loop_seconds, timed_loop

GOAL_SLOWDOWN = 1.05
GOAL_SIZE_SHARE = 0.02
SMOLLM2 = BENCH_DIR.parent / "examples" / "models" / "smollm2-135m-instruct"


def one_sweep(*, checkpoints: bool, index: int) -> dict[str, Any]:
    from ray import tune

    from sweeps.config.loading import load_spec
    from sweeps.config.space import effective_space
    from sweeps.run.runner import run_sweep
    from trainer.trainable import run_trial

    name = f"{'with' if checkpoints else 'without'}-{index}"
    storage = fresh_dir(f"m5-{name}")
    timer_path = storage / "timer.json"
    spec = load_spec(TINY_SWEEP, [f"storage.path={storage}"])
    loop = functools.partial(timed_loop, timer_path=str(timer_path), checkpoints=checkpoints)
    trial = tune.with_parameters(run_trial, spec=spec, searched=tuple(effective_space(spec)), loop=loop)
    started = time.time()
    run_sweep(spec, trainable=trial)
    wall = time.time() - started
    record = json.loads(timer_path.read_text())
    steps, seconds = loop_seconds(record, from_step=spec.training.eval_every_steps)
    return {"checkpoints": checkpoints, "wall_s": wall, "loop_s": seconds, "steps": steps,
            "startup_s": record["first_step_begin"] - started,
            "adapters": sorted(Path(spec.sweep_dir).rglob("adapter_model.safetensors"))}


def timing(repeats: int) -> dict[str, Any]:
    from sweeps.run.runner import init_ray

    init_ray(None)
    pairs = []
    for index in range(repeats):  # with/without alternate their order, so drifting load hits both
        order = (True, False) if index % 2 == 0 else (False, True)
        runs = {checkpoints: one_sweep(checkpoints=checkpoints, index=index) for checkpoints in order}
        pairs.append(runs)
        print(f"#{index}: sweep {runs[True]['wall_s']:.1f} s with checkpoints vs {runs[False]['wall_s']:.1f} s "
              f"without (start-up {runs[True]['startup_s']:.1f} s vs {runs[False]['startup_s']:.1f} s); "
              f"loop {runs[True]['loop_s']:.2f} s vs {runs[False]['loop_s']:.2f} s", flush=True)
    adapter = pairs[0][True]["adapters"][0]
    return {
        "sweep_slowdown": spread([p[True]["wall_s"] / p[False]["wall_s"] for p in pairs]),
        "loop_slowdown": spread([p[True]["loop_s"] / p[False]["loop_s"] for p in pairs]),
        "runs": [{key: value for key, value in run.items() if key != "adapters"} for p in pairs for run in p.values()],
        "checkpoints_kept": len(pairs[0][True]["adapters"]), "checkpoints_without": len(pairs[0][False]["adapters"]),
        "tiny_adapter_bytes": adapter.stat().st_size,
        "tiny_model_bytes": sum(path.stat().st_size for path in (OUT / "tiny-llama").glob("*.safetensors")),
    }


def smollm2_share() -> dict[str, Any] | None:
    """LoRA r=8 on q_proj, v_proj of SmolLM2-135M: adapter bytes ÷ the model's weight-file bytes."""
    if not (SMOLLM2 / "config.json").is_file():
        return None
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(SMOLLM2), dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    model_bytes = sum(path.stat().st_size for path in SMOLLM2.glob("*.safetensors"))
    return {"lora_params": trainable, "adapter_bytes": 4 * trainable, "model_bytes": model_bytes,
            "share": 4 * trainable / model_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tiny_files()
    figures = timing(args.repeats)
    figures["tiny_share"] = figures["tiny_adapter_bytes"] / figures["tiny_model_bytes"]
    figures["smollm2"] = smollm2_share()
    figures["goal_time_met"] = figures["sweep_slowdown"]["median"] <= GOAL_SLOWDOWN
    figures["goal_size_met"] = all(share <= GOAL_SIZE_SHARE for share in
                                   (figures["tiny_share"], (figures["smollm2"] or {}).get("share", 0.0)))
    save("m5_checkpoints", figures)
    smol = figures["smollm2"]
    print(f"checkpoints cost {figures['sweep_slowdown']['median']:.3f}x sweep time "
          f"({figures['loop_slowdown']['median']:.3f}x in the loop); adapter/model: tiny "
          f"{100 * figures['tiny_share']:.2f} %, SmolLM2-135M r=8 q,v "
          + (f"{100 * smol['share']:.3f} % ({smol['lora_params']:,} params)" if smol else "model not converted"))


if __name__ == "__main__":
    main()
