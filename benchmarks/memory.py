"""Benchmark: peak memory of ``model.fit`` on NumPy arrays against :func:`utils.training.train`.

Given arrays, ``fit`` first copies the inputs and the targets into tensors;
``train`` feeds it batches cut from the arrays instead (see
:func:`utils.training.batches`). This measures what that saves: each way of
training runs one epoch of the vanilla autoencoder on the same random images
in a fresh process, while a thread samples the resident memory (RSS) every
2 ms, and the peak above the memory held before training is printed.

The numbers depend on the machine, the allocator and the load, so they are
measured here, not asserted in the tests (``tests/test_training.py`` checks
the cause instead: what ``fit`` is given).

Usage (from the repository root, after ``make venv``)::

    .venv/bin/python benchmarks/memory.py              # 25,600 images (80 MB)
    .venv/bin/python benchmarks/memory.py --images 60000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("fit on arrays", "train()")


def peak_growth(run) -> float:
    """MB by which the process's RSS peaked above its level before ``run()``, sampled every 2 ms."""
    import psutil

    proc = psutil.Process()
    before = peak = proc.memory_info().rss
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run()
    finally:
        done.set()
        sampler.join()
    return (max(peak, proc.memory_info().rss) - before) / 2**20


def measure(mode: str, images: int) -> float:
    """Peak growth in MB for one epoch of the vanilla model trained the ``mode`` way."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import utils  # noqa: F401  (quiets TensorFlow)
    from utils import config, models, training

    x = np.random.default_rng(0).random((images, 28, 28), dtype=np.float32)
    budget = config.Budget(mode="quick", n_train=None, n_test=None, epochs=1, batch_size=256, jit_compile=False)
    training.set_seed()
    model = models.build_vanilla()
    if mode == "train()":
        return peak_growth(lambda: training.train(model, x, x, budget))
    training.compile_model(model, budget, len(x))
    flat = x.reshape(len(x), 784)  # a view: no copy before fit
    return peak_growth(lambda: model.fit(flat, flat, batch_size=budget.batch_size, epochs=1, verbose=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=25_600, help="number of 28x28 float32 images")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # one measurement, in this process
    args = parser.parse_args()
    if args.mode:
        print(f"{measure(args.mode, args.images):.0f}")
        return
    print(f"{args.images:,} images ({args.images * 784 * 4 / 2**20:.0f} MB), one epoch of the vanilla model:")
    for mode in MODES:
        out = subprocess.run(
            [sys.executable, __file__, "--images", str(args.images), "--mode", mode],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        print(f"  {mode:<14} peak RSS {out.split()[-1]:>5} MB above the memory held before training")


if __name__ == "__main__":
    main()
