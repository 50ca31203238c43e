"""``finesweep dashboard|export``: watch sweeps in a browser, pick a checkpoint, write it out for plain
Hugging Face code. FastAPI, uvicorn and torch load only inside the commands, so ``--help`` stays fast."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from sweeps.cli.options import JsonOpt, SweepDir, err, out
from sweeps.core.errors import UserError
from sweeps.core.net import is_loopback

TOKEN_ENV = "FINESWEEP_DASHBOARD_TOKEN"
DEFAULT_PORT = 8787


def dashboard(
    storage_path: Annotated[Path, typer.Argument(help="Where sweeps are stored (a sweep file's storage.path).")]
    = Path("runs"),
    host: Annotated[str, typer.Option(help="Interface to listen on. Anything but loopback needs a token.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = DEFAULT_PORT,
    token_file: Annotated[Path | None, typer.Option(help=f"File holding the access token (default: ${TOKEN_ENV}).")]
    = None,
) -> None:
    """Serve the sweeps under STORAGE_PATH in a browser: live leaderboard, curves, pick and export."""
    if not Path(storage_path).is_dir():
        raise UserError(f"{storage_path}: no such folder; give the storage.path your sweeps write to")
    token = _token(token_file)
    if token is None and not is_loopback(host):
        raise UserError(f"--host {host} serves beyond this machine: give --token-file FILE or set {TOKEN_ENV} "
                        "(every request must then carry the token)")
    import uvicorn

    from dashboard.app import create_app

    app = create_app(storage_path=Path(storage_path).resolve(), token=token)
    shown_host = socket.gethostname() if host in ("0.0.0.0", "::") else host  # all interfaces: name this machine
    login = "/?token=<your token>" if token else "/"
    out.print(f"finesweep dashboard on http://{shown_host}:{port}{login} — sweeps under {storage_path}; "
              "Ctrl-C stops it", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def export(
    sweep_dir: SweepDir,
    out_dir: Annotated[Path, typer.Option("--out", help="New (or empty) folder to write the model to.")],
    trial: Annotated[str | None, typer.Option(help="Trial id (default: the chosen checkpoint, else the best).")]
    = None,
    checkpoint: Annotated[str | None, typer.Option(help="Checkpoint folder name of --trial (default: its "
                                                   "best).")] = None,
    merged: Annotated[bool, typer.Option("--merged", help="Merge the adapter into the base model "
                                         "(a full model; no PEFT needed to load it).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a checkpoint for plain Hugging Face code: the adapter, or the merged model.

    The folder also gets the base model's tokenizer and a model card (README.md)."""
    from sweeps.results.export import export_checkpoint, export_source
    from sweeps.results.summary import best_record, stale_choice_warning

    if checkpoint is not None and trial is None:
        raise UserError("--checkpoint needs --trial (checkpoint names are per trial)")
    source = export_source(sweep_dir=sweep_dir, trial_id=trial, name=checkpoint)
    warning = stale_choice_warning(best_record(sweep_dir)) if trial is None else None
    if warning:
        err.print(Text.assemble(("warning:", "yellow"), f" {warning}"), highlight=False, soft_wrap=True)
    written = export_checkpoint(sweep_dir=sweep_dir, out_dir=out_dir, merged=merged, trial_id=source.trial_id,
                                name=source.name)
    loader = "AutoModelForCausalLM" if merged else "AutoPeftModelForCausalLM"
    if as_json:
        print(json.dumps({"path": str(written), "trial_id": source.trial_id, "checkpoint": source.name,
                          "step": source.step, "merged": merged, "loader": loader,
                          "model_card": str(written / "README.md")}, indent=2))
        return
    out.print(f"wrote the {'merged model' if merged else 'adapter'} of trial {source.trial_id}, step {source.step} "
              f"({source.name}) to {written}\nload it with {loader}.from_pretrained({str(written)!r}); model card: "
              f"{written / 'README.md'}", highlight=False, soft_wrap=True)


def _token(token_file: Path | None) -> str | None:
    if token_file is not None:
        if not token_file.is_file():
            raise UserError(f"--token-file {token_file}: no such file")
        token = token_file.read_text().strip()
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if token and len(token) < 16:
        raise UserError("the dashboard token must be at least 16 characters (e.g. `openssl rand -hex 16`)")
    return token or None


def register(app: typer.Typer) -> None:
    """Add the dashboard and export commands to the ``finesweep`` app."""
    for command in (dashboard, export):
        app.command()(command)
