"""Benchmark: the speed levers of issue 13, each measured side by side in one run.

``benchmarks/run.py`` compares each chapter's recipe with the post's. This script
measures the levers that could make a chapter faster, one against another, in the
same run on the same machine (timings on a shared two-core machine swing several-fold
between runs, so only side-by-side numbers are compared):

threads
    Seconds per training epoch of the chapters' recipes (vanilla and convolutional)
    with TensorFlow's default thread pools (one thread per core) against one thread
    each (``TF_NUM_INTRAOP_THREADS=1``, ``TF_NUM_INTEROP_THREADS=1``,
    ``OMP_NUM_THREADS=1``), each in a fresh process (``utils.devices.epoch_seconds``),
    interleaved ``--repeats`` times; and the same two settings with two such
    processes at once, as ``make test`` runs two chapters side by side.
evaluation
    Seconds to reconstruct the test images with a trained vanilla model: the course's
    batched call (``training.reconstruct``), ``model.predict`` at its default batch of
    32, and ``model.predict`` at a batch of 2,048, each best of three.
recipes
    The vanilla model: the post's recipe (Adam's defaults, 50 epochs, batch 256) once,
    then the chapter's recipe and larger batches with a proportionally larger peak
    learning rate (one epoch of warm-up, cosine decay) for fewer epochs. For each: the
    training seconds, the final test MSE, and the training seconds to first reach the
    post recipe's final test MSE, as a share of the post's training seconds (the ratio
    that issue 13 wants at 0.2 or below).

Usage (from the repository root, after ``make venv``)::

    .venv/bin/python benchmarks/levers.py                    # Fashion-MNIST, 60,000 images
    .venv/bin/python benchmarks/levers.py --n-train 10000 --only threads evaluation
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as bench  # noqa: E402  (benchmarks/run.py: the recipes' clock and fit)

from utils import config, data, devices, models, training  # noqa: E402

ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
LEVERS = ("threads", "evaluation", "recipes")
#: Candidate recipes for the vanilla model: (batch size, peak learning rate, epochs).
VANILLA_CANDIDATES = ((256, 2e-3, 15), (512, 4e-3, 12), (1024, 8e-3, 12), (1024, 8e-3, 20))


@contextlib.contextmanager
def environment(extra: dict[str, str]):
    """Set ``extra`` in ``os.environ`` (inherited by the measuring processes), then restore it."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _steady(run: dict, name: str) -> float:
    return float(statistics.median(run["models"][name]["epochs"][2:]))


def threads(dataset: str, n_train: int, repeats: int) -> dict:
    names = ("vanilla", "convolutional")
    settings = {"default threads": {}, "one thread": ONE_THREAD}
    alone = {s: {n: [] for n in names} for s in settings}
    paired = {s: {n: [] for n in names} for s in settings}
    with environment({"AE_DATASET": dataset}):
        for r in range(repeats):
            for setting, extra in settings.items():
                with environment(extra):
                    run = devices.epoch_seconds("tensorflow", names, n_train=n_train, epochs=5, quick=False)
                    for n in names:
                        alone[setting][n].append(_steady(run, n))
                    # Two measuring processes at once, as make test runs two chapters side by side.
                    with concurrent.futures.ThreadPoolExecutor(2) as pool:
                        runs = list(
                            pool.map(
                                lambda _: devices.epoch_seconds(
                                    "tensorflow", names, n_train=n_train, epochs=5, quick=False
                                ),
                                range(2),
                            )
                        )
                    for n in names:
                        paired[setting][n].append(statistics.mean(_steady(x, n) for x in runs))
                print(f"[threads] repeat {r + 1}: alone {alone}, two at once {paired}", flush=True)
    med = lambda d: {s: {n: statistics.median(v) for n, v in m.items()} for s, m in d.items()}  # noqa: E731
    return {"n_train": n_train, "repeats": repeats, "alone": med(alone), "two_at_once": med(paired)}


def evaluation(ds) -> dict:
    (x_train, _), (x_test, _) = ds
    training.set_seed()
    model = models.build("vanilla")
    budget = dataclasses.replace(config.budget("vanilla", quick=True), n_train=len(x_train))
    training.train(model, x_train[:5000], x_train[:5000], budget)
    xi = training._inputs_for(model, x_test)  # the model's input shape, as reconstruct feeds it
    ways = {
        "training.reconstruct (batched call)": lambda: training.reconstruct(model, x_test),
        "model.predict, batch 32": lambda: model.predict(xi, verbose=0),
        "model.predict, batch 2048": lambda: model.predict(xi, batch_size=2048, verbose=0),
    }
    seconds = {}
    for name, fn in ways.items():
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        seconds[name] = min(times)
        print(f"[evaluation] {name}: {seconds[name]:.3f} s", flush=True)
    return {"n_test": len(x_test), "seconds": seconds}


def recipes(ds) -> dict:
    (x_train, _), (x_test, _) = ds
    epochs, batch = bench.POST_BUDGET["vanilla"]
    post_budget = config.Budget(
        mode="full", n_train=None, n_test=None, epochs=epochs, batch_size=batch, schedule="constant",
        steps_per_execution=1, init_output_bias=False,
    )  # fmt: skip
    post = bench._fit(
        "vanilla", post_budget, x_train, x_train, x_test, x_test, compile_kwargs=dict(optimizer="adam", loss="mse")
    )
    target, post_seconds = post.test_mse[-1], post.train_seconds[-1]
    print(f"[recipes] post: {epochs} epochs, {post_seconds:.1f} s, test MSE {target:.5f}", flush=True)
    chapter = config.budget("vanilla", quick=False)
    candidates = {"chapter": chapter}
    for b, lr, e in VANILLA_CANDIDATES:
        candidates[f"batch {b}, lr {lr:g}, {e} epochs"] = dataclasses.replace(
            chapter, batch_size=b, learning_rate=lr, epochs=e, min_steps=0, warmup_epochs=1
        )
    out = {"post": {"epochs": epochs, "batch_size": batch, "seconds": post_seconds, "test_mse": target}}
    for label, budget in candidates.items():
        clock = bench._fit("vanilla", budget, x_train, x_train, x_test, x_test)
        reached = [t for t, m in zip(clock.train_seconds, clock.test_mse) if m <= target]
        out[label] = {
            "recipe": dataclasses.asdict(budget),
            "seconds": clock.train_seconds[-1],
            "test_mse": clock.test_mse[-1],
            "seconds_to_post_quality": reached[0] if reached else None,
            "ratio": reached[0] / post_seconds if reached else None,
        }
        print(f"[recipes] {label}: {out[label]}", flush=True)
    return out


def markdown(results: dict) -> str:
    lines = [
        f"# Speed levers, side by side ({results['dataset']}, {results['n_train']:,} training images)",
        "",
        f"Written by `benchmarks/levers.py` on {results['date']}; machine: {results['machine']['cores']} CPU "
        f"cores, TensorFlow {results['machine']['tensorflow']}, Keras {results['machine']['keras']}.",
    ]
    if "threads" in results:
        t = results["threads"]
        lines += [
            "",
            f"## Threads: seconds per epoch ({t['n_train']:,} images, median of {t['repeats']} interleaved runs)",
            "",
            "| model | default threads, alone | one thread, alone | default threads, two at once | "
            "one thread, two at once |",
            "|---|---|---|---|---|",
        ]
        for name in t["alone"]["default threads"]:
            lines.append(
                f"| {name} | {t['alone']['default threads'][name]:.3f} | {t['alone']['one thread'][name]:.3f} | "
                f"{t['two_at_once']['default threads'][name]:.3f} | {t['two_at_once']['one thread'][name]:.3f} |"
            )
    if "evaluation" in results:
        e = results["evaluation"]
        lines += ["", f"## Evaluation: seconds to reconstruct {e['n_test']:,} test images (best of 3)", ""]
        lines += ["| way | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in e["seconds"].items()]
    if "recipes" in results:
        r = results["recipes"]
        p = r["post"]
        lines += [
            "",
            "## Recipes of the vanilla model",
            "",
            f"The post's recipe: Adam's defaults, {p['epochs']} epochs, batch {p['batch_size']}: "
            f"{p['seconds']:.1f} s of training, test MSE {p['test_mse']:.5f}.",
            "",
            "| recipe | training s | final test MSE | s to the post's final MSE | ratio (<= 0.2) |",
            "|---|---|---|---|---|",
        ]
        for label, v in r.items():
            if label == "post":
                continue
            s2q = "never" if v["seconds_to_post_quality"] is None else f"{v['seconds_to_post_quality']:.1f}"
            ratio = "n/a" if v["ratio"] is None else f"{v['ratio']:.3f}"
            lines.append(f"| {label} | {v['seconds']:.1f} | {v['test_mse']:.5f} | {s2q} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="fashion_mnist", choices=list(config.DATASETS))
    parser.add_argument("--n-train", type=int, default=None, help="a seeded subset (default: all)")
    parser.add_argument("--only", nargs="*", default=list(LEVERS), choices=LEVERS)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of the thread timings")
    parser.add_argument("--out", default=str(HERE / "levers.json"))
    args = parser.parse_args(argv)

    ds = data.load_dataset(args.dataset, n_train=args.n_train, n_test=args.n_train and max(args.n_train // 6, 100))
    n_train = len(ds[0][0])
    results = {
        "dataset": args.dataset,
        "n_train": n_train,
        "date": time.strftime("%Y-%m-%d"),
        "machine": bench.machine(),
    }
    out = Path(args.out)

    def write():
        out.write_text(json.dumps(results, indent=1))
        out.with_suffix(".md").write_text(markdown(results))

    if "threads" in args.only:
        results["threads"] = threads(args.dataset, min(n_train, 10_000), args.repeats)
        write()
    if "evaluation" in args.only:
        results["evaluation"] = evaluation(ds)
        write()
    if "recipes" in args.only:
        results["recipes"] = recipes(ds)
        write()
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
