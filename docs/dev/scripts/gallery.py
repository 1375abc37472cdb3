"""Build ``docs/gallery.md``: run every example, keep the figure it saves by default and the
numbers it printed.

    python docs/dev/scripts/gallery.py              # the settings of ENTRIES (about 15 min)
    python docs/dev/scripts/gallery.py --quick      # every example with --quick (a check)
    python docs/dev/scripts/gallery.py --only denoise sae_digits   # update those sections

Each example runs as the page shows it (``PYTHONPATH=. python examples/NAME.py ARGS``), in a
fresh process with one BLAS thread, from the folder ``--workdir`` (default: the repository, so
the figures land in ``examples/out/``); the figure is copied to ``DOCS/img/gallery_NAME.png``
and the page written to ``DOCS/gallery.md``. A failing example stops the build.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[3]


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str  #: examples/NAME.py
    title: str
    args: tuple[str, ...] = ()  #: the gallery's arguments (besides --quick)
    figure: str = ""  #: the figure the example saves by default (default examples/out/NAME.png)

    def figure_path(self) -> str:
        return self.figure or os.path.join("examples", "out", f"{self.name}.png")


ENTRIES = (
    Entry("olshausen_field", "Olshausen & Field: Gabor-like atoms from natural images",
          figure=os.path.join("examples", "out", "olshausen_field_atoms.png")),
    Entry("ground_truth", "Learning back a known dictionary (K-SVD, MOD, online)"),
    Entry("denoise", "Image denoising with a learned dictionary"),
    Entry("sae_digits", "An L1 sparse autoencoder's filters on the digits"),
    Entry("sae_kl_vs_l1", "KL against L1 penalty at reaching a target rate"),
    Entry("sae_overcomplete", "Overcomplete against complete top-k autoencoder"),
    Entry("sae_topk_vs_soft", "Top-k against soft sparsity at equal L0"),
    Entry("sae_network_features", "Features of a trained network (SAE on MLP activations)"),
    Entry("lista_chen2018", "LISTA, LISTA-CP, ALISTA: NMSE layer by layer (scaled down)",
          args=("--quick",),
          figure=os.path.join("examples", "out", "lista_chen2018", "nmse.png")),
    Entry("signal_sound", "A synthesised sound decomposed into its events"),
    Entry("signal_eeg", "Multichannel EEG: rank-1 convolutional atoms"),
    Entry("signal_frames_vs_conv", "Frame-based against convolutional coding"),
)


def command(entry: Entry, quick: bool) -> list[str]:
    args = list(entry.args)
    if quick and "--quick" not in args:
        args.append("--quick")
    return ["python", f"examples/{entry.name}.py", *args]


def run_entry(entry: Entry, *, quick: bool, workdir: pathlib.Path, img_dir: pathlib.Path,
              timeout: float) -> dict:
    """Run one example; return its command, printed output, seconds and figure name."""
    cmd = command(entry, quick)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg",
           **dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                            "NUMBA_NUM_THREADS"), "1")}
    fig = workdir / entry.figure_path()
    if fig.exists():
        fig.unlink()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / cmd[1]), *cmd[2:]], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    if not fig.exists():
        raise RuntimeError(f"{' '.join(cmd)} did not save its figure {entry.figure_path()}")
    img_dir.mkdir(parents=True, exist_ok=True)
    target = img_dir / f"gallery_{entry.name}.png"
    shutil.copyfile(fig, target)
    return {"cmd": "PYTHONPATH=. " + " ".join(cmd), "stdout": proc.stdout.rstrip(),
            "seconds": seconds, "image": f"img/{target.name}"}


def page(entries: list[Entry], results: list[dict], quick: bool) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Gallery",
        "",
        "Every example of `examples/`: the figure it saves by default, the command that made it "
        "and what it printed. Built by",
        "",
        "    python docs/dev/scripts/gallery.py" + (" --quick" if quick else ""),
        "",
        f"which runs each command below from the repository root (one BLAS thread each; load "
        f"average {load:.1f} at the end on a shared 2-core machine, so the times are rough). "
        "Every example also runs with `--quick` in the tests.",
        "",
    ]
    for e, r in zip(entries, results, strict=True):
        lines += section(e, r)
    return "\n".join(lines)


def section(e: Entry, r: dict) -> list[str]:
    return [f"## {e.title}", "", "```bash", r["cmd"], "```", "", f"![{e.title}]({r['image']})",
            "", f"Printed ({r['seconds']:.0f} s):", "", "```text", r["stdout"], "```", ""]


def update(existing: str, entries: list[Entry], results: list[dict]) -> str:
    """``existing`` with the sections of ``entries`` replaced (``--only``: the other
    examples' sections are kept as they were)."""
    parts = re.split(r"(?m)^(?=## )", existing)
    new = {f"## {e.title}": "\n".join(section(e, r)) + "\n"
           for e, r in zip(entries, results, strict=True)}
    out = [new.pop(part.split("\n", 1)[0], part) for part in parts]
    return "".join(out + list(new.values()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="run every example with --quick")
    p.add_argument("--only", nargs="*", default=None, help="these examples only")
    p.add_argument("--docs", default=str(ROOT / "docs"), help="folder of gallery.md and img/")
    p.add_argument("--workdir", default=str(ROOT), help="where the examples run")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per example")
    a = p.parse_args(argv)
    names = {e.name for e in ENTRIES}
    unknown = sorted(set(a.only or ()) - names)
    if unknown:
        p.error(f"unknown examples {unknown}; choose from {sorted(names)}")
    entries = [e for e in ENTRIES if a.only is None or e.name in a.only]
    docs = pathlib.Path(a.docs)
    results = []
    for e in entries:
        r = run_entry(e, quick=a.quick, workdir=pathlib.Path(a.workdir), img_dir=docs / "img",
                      timeout=a.timeout)
        print(f"{e.name}: {r['seconds']:.1f} s", flush=True)
        results.append(r)
    target = docs / "gallery.md"
    if a.only is not None and target.exists():
        target.write_text(update(target.read_text(), entries, results))
    else:
        target.write_text(page(entries, results, a.quick))
    print(f"wrote {docs / 'gallery.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
