"""Benchmark: the chapters' training recipes against the post's recipe.

For each model the course trains (the post's five, the contractive and the variational
ones), on the full training set of one data set (default:
Fashion-MNIST, 60,000 + 10,000 images, which installs offline from Debian), in one run:

(a) the post's recipe: ``compile(optimizer="adam", loss="mse")`` with Keras's
    defaults (learning rate 1e-3, no XLA, one batch per step) and the budget of the
    Keras blog the post derives from (vanilla 50 epochs, multilayer and sparse 100,
    batch 256; convolutional 50, denoising 100 epochs, batch 128), recording the test
    loss after every epoch. The post shows no contractive or variational model: for them
    (a) is Adam's defaults with the budget of the best-known published recipe (the
    contractive model: the vanilla model's, as it has the vanilla shape; the variational
    one: keras.io's VAE example, 30 epochs, batch 128);
(b) the chapter's recipe from ``utils.config.budget`` (full mode), likewise.

The test loss is the MSE for every model but the variational one, whose loss is the
negative ELBO per image (nats: the Bernoulli reconstruction term plus the KL term,
what its chapter reports). It records each recipe's final test loss and the
time-to-quality ratio: the training time (b) needs to first reach (a)'s final test
loss, divided by (a)'s training time (evaluation time excluded from both). Then it
executes every chapter notebook in full mode on the same data set (``AE_DATASET``,
the course's one switch) and records its wall time and the peak resident memory of
its kernel, from a cold start (an empty weight cache, so each chapter trains every
model it shows).

Recipe (a) stops early once its test MSE falls below the best the chapter's recipe
reached: from then on the chapter's recipe provably never reaches (a)'s final MSE (which
can only be as low or lower), so the ratio is decided ("not reached") and the rest of
(a) would change nothing (``"stopped_early": true``). ``--post-epochs N`` also caps (a)
at N epochs to save time; the results then say so, and the ratio is measured against
(a)'s MSE after N epochs instead of its final one (``"capped": true``).

Usage (from the repository root, after ``make venv``)::

    .venv/bin/python benchmarks/run.py                  # everything, writes results.json/.md
    .venv/bin/python benchmarks/run.py --models vanilla --skip-notebooks
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

import utils  # noqa: E402,F401  (quiets TensorFlow)
import keras  # noqa: E402
import numpy as np  # noqa: E402

from utils import config, data, models, training  # noqa: E402

# The Keras blog's budgets (epochs, batch size) for each model.
POST_BUDGET = {
    "vanilla": (50, 256),
    "multilayer": (100, 256),
    "sparse": (100, 256),
    "convolutional": (50, 128),
    "denoising": (100, 128),
    # Not in the post: the vanilla model's budget (same shape), and keras.io's VAE example.
    "contractive": (50, 256),
    "variational": (30, 128),
}
#: The loss each model trains with (the post's MSE, or the VAE chapter's reconstruction term).
LOSS = {"variational": models.bernoulli_nll}
#: Every chapter notebook, timed cold in full mode.
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
TARGETS = {
    "time_to_quality_ratio": 0.2,
    "speedup_at_chapter_quality": 5.0,
    "chapter_seconds_full": 120.0,
    "peak_rss_mb": 1536.0,
}


class EpochClock(keras.callbacks.Callback):
    """Record the test loss and cumulative *training* time (evaluation excluded) after every epoch.

    The test loss is the MSE, or for the variational model (``elbo=True``) the loss it
    trains on, reconstruction plus KL, from ``evaluate``.
    """

    def __init__(self, x_test_in, x_test_target, stop_below: float | None = None, elbo: bool = False):
        super().__init__()
        self.x_in, self.x_target = x_test_in, x_test_target
        self.stop_below = stop_below
        self.elbo = elbo
        self.stopped_early = False
        self.train_seconds: list[float] = []
        self.test_mse: list[float] = []
        self._elapsed = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self._elapsed += time.perf_counter() - self._t0
        if self.elbo:
            mse = float(
                self.model.evaluate(self.x_in, self.x_target, batch_size=2048, verbose=0, return_dict=True)["loss"]
            )
        else:
            pred = self.model.predict(self.x_in, batch_size=2048, verbose=0)
            mse = float(np.mean((pred.reshape(len(pred), -1) - self.x_target.reshape(len(pred), -1)) ** 2))
        self.train_seconds.append(self._elapsed)
        self.test_mse.append(mse)
        if self.stop_below is not None and mse < self.stop_below:
            # The chapter's recipe ended above this MSE, so it can never reach the post
            # recipe's final MSE, which can only be this low or lower: the ratio is
            # already decided ("not reached"), and the rest of the run would add nothing.
            self.stopped_early = True
            self.model.stop_training = True


def _fit(name, budget, x_in, x_target, xt_in, xt_target, compile_kwargs=None, stop_below=None):
    training.set_seed()
    model = models.build(name)
    xi, vi, vt = (training._inputs_for(model, a) for a in (x_in, xt_in, xt_target))
    xt = xi if x_target is x_in else training._inputs_for(model, x_target)
    loss = LOSS.get(name, "mse")
    clock = EpochClock(vi, vt, stop_below=stop_below, elbo=name in LOSS)
    if compile_kwargs is None:  # the chapter's recipe, fed as training.train feeds it
        if budget.init_output_bias:
            training.init_output_bias(model, xt)
        training.compile_model(model, budget, len(xi), loss=loss)
        model.fit(
            training.batches(xi, xt, budget.batch_size),
            epochs=budget.epochs_for(len(xi)),
            shuffle=False,
            verbose=0,
            callbacks=[clock],
        )
    else:  # the post's recipe: Keras defaults, NumPy arrays straight into fit
        model.compile(**compile_kwargs)
        model.fit(
            xi, xt, epochs=budget.epochs, batch_size=budget.batch_size, shuffle=True, verbose=0, callbacks=[clock]
        )
    return clock


def bench_recipes(name, ds, post_epochs_cap=None, chapter_budget=None):
    (x_train, _), (x_test, _) = ds
    if name == "denoising":
        x_in = data.add_noise(x_train, config.NOISE_FACTOR)
        xt_in = data.add_noise(x_test, config.NOISE_FACTOR, seed=config.SEED + 1)
    else:
        x_in, xt_in = x_train, x_test
    chapter_budget = chapter_budget or config.budget(name, quick=False)
    print(f"[{name}] chapter recipe: {chapter_budget}", flush=True)
    b = _fit(name, chapter_budget, x_in, x_train, xt_in, x_test)
    print(
        f"[{name}]   {len(b.test_mse)} epochs, {b.train_seconds[-1]:.1f} s, test loss {b.test_mse[-1]:.5f}", flush=True
    )

    epochs, batch = POST_BUDGET[name]
    capped = post_epochs_cap is not None and post_epochs_cap < epochs
    post_budget = config.Budget(
        mode="full",
        n_train=None,
        n_test=None,
        epochs=min(epochs, post_epochs_cap or epochs),
        batch_size=batch,
        schedule="constant",
        jit_compile=False,
        steps_per_execution=1,
        init_output_bias=False,
    )
    print(
        f"[{name}] post recipe: Adam defaults, {post_budget.epochs} epochs, batch {batch}"
        + (f" (capped from {epochs})" if capped else ""),
        flush=True,
    )
    a = _fit(
        name,
        post_budget,
        x_in,
        x_train,
        xt_in,
        x_test,
        compile_kwargs=dict(optimizer="adam", loss=LOSS.get(name, "mse")),
        stop_below=min(b.test_mse),
    )
    print(
        f"[{name}]   {len(a.test_mse)} epochs, {a.train_seconds[-1]:.1f} s, test loss {a.test_mse[-1]:.5f}"
        + (" (stopped: already below the chapter recipe's best)" if a.stopped_early else ""),
        flush=True,
    )

    target = a.test_mse[-1]
    reached = [t for t, m in zip(b.train_seconds, b.test_mse) if m <= target]
    # A post run stopped early has a final MSE at most `target`; the chapter's recipe
    # never reached `target`, so it cannot reach the final one either.
    ratio = (reached[0] / a.train_seconds[-1]) if reached and not a.stopped_early else None
    # The issue's own reading: how many times the chapter's training time the post's recipe
    # needs to reach the chapter's final test loss. Recipe (a) runs until it is below the
    # chapter's best, so it either gets there (a measured figure) or ends its whole budget
    # above it (then the figure is at least its training time over the chapter's).
    chapter_final = b.test_mse[-1]
    post_reached = [t for t, m in zip(a.train_seconds, a.test_mse) if m <= chapter_final]
    speedup = (post_reached[0] if post_reached else a.train_seconds[-1]) / b.train_seconds[-1]
    return {
        "chapter_recipe": dataclasses.asdict(chapter_budget),
        "chapter_epochs": len(b.test_mse),
        "chapter_train_seconds": b.train_seconds[-1],
        "chapter_test_mse": b.test_mse[-1],
        "chapter_curve": {"train_seconds": b.train_seconds, "test_mse": b.test_mse},
        "post_recipe": {
            "optimizer": "adam (defaults)",
            "epochs": post_budget.epochs,
            "batch_size": batch,
            "blog_epochs": epochs,
            "capped": capped,
            "epochs_run": len(a.test_mse),
            "stopped_early": a.stopped_early,
        },
        "post_train_seconds": a.train_seconds[-1],
        "post_test_mse": target,
        "post_curve": {"train_seconds": a.train_seconds, "test_mse": a.test_mse},
        "chapter_seconds_to_post_quality": reached[0] if reached else None,
        "time_to_quality_ratio": ratio,
        "post_seconds_to_chapter_quality": post_reached[0] if post_reached else None,
        "speedup_at_chapter_quality": speedup,
        "speedup_is_lower_bound": not post_reached,
    }


#: What every chapter does before its first model: its imports, then the full data set.
FLOOR_CELLS = (
    "import utils\nimport keras\nimport numpy as np\nimport pandas as pd\n"
    "from utils import config, data, metrics, models, plotting, training",
    "(x_train, y_train), (x_test, y_test) = data.load_dataset()",
)


def run_floor(dataset: str) -> dict:
    """The peak RSS of a kernel that only does what every chapter starts with.

    Measured as the chapters are (:func:`run_notebook`): a kernel that imports what the
    chapters import (Keras, TensorFlow, the course's package); one that also loads the full
    data set (no chapter can peak below it); and, side by side, the imports in a kernel that
    imported JAX first, which ``utils`` otherwise keeps out of TensorFlow's import.
    """
    import nbformat

    out = {}
    runs = {
        "imports_mb": FLOOR_CELLS[:1],
        "imports_and_data_mb": FLOOR_CELLS,
        # The same imports without the lever in utils/__init__.py: a kernel that imported JAX
        # first, so TensorFlow's import loads it as it would without utils.
        "imports_jax_first_mb": ("import jax", *FLOOR_CELLS[:1]),
    }
    for key, cells in runs.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        out[key] = run_notebook(nb, dataset)["peak_rss_mb"]
    return out


def run_notebook(stem, dataset: str) -> dict:
    """Execute a chapter (by name, or a notebook object) in full mode; return wall seconds and the kernel's peak RSS in MB."""
    import nbformat
    import psutil
    from nbclient import NotebookClient

    os.environ["AE_QUICK"] = "0"
    os.environ["AE_DATASET"] = dataset
    # A cold start: an empty weight cache, so the chapter trains everything it needs
    # (chapters 2-4 also train the vanilla model they compare with, as a reader who
    # opens them first would).
    cache = tempfile.TemporaryDirectory(prefix="ae-bench-weights-")
    os.environ["AE_WEIGHTS_DIR"] = cache.name
    nb = (
        stem
        if isinstance(stem, nbformat.NotebookNode)
        else nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4)
    )
    client = NotebookClient(
        nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "chapters")}}
    )
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    peak = {"rss": 0}
    done = threading.Event()

    def poll():
        while not done.is_set():
            for p in me.children(recursive=True):
                if p.pid in before:
                    continue
                try:
                    peak["rss"] = max(peak["rss"], p.memory_info().rss)
                except psutil.Error:
                    pass
            done.wait(0.2)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        wall = time.perf_counter() - start
        done.set()
        watcher.join()
        cache.cleanup()
    return {"chapter_seconds_full": wall, "peak_rss_mb": peak["rss"] / 2**20}


def machine() -> dict:
    import psutil
    import tensorflow as tf

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "gpu": bool(tf.config.list_physical_devices("GPU")),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": platform.platform(),
    }


def markdown(results: dict) -> str:
    def fmt(v, spec):
        return "n/a" if v is None else format(v, spec)

    def mark(ok):
        return "yes" if ok else "**no**"

    t = results.get("targets", TARGETS)
    lines = [
        f"# Training-recipe benchmark ({results['dataset']}, {results['n_train']:,} training images)",
        "",
        f"Machine: {results['machine']['cores']} CPU cores, {results['machine']['memory_gb']} GB, "
        f"GPU: {results['machine']['gpu']}; TensorFlow {results['machine']['tensorflow']}, "
        f"Keras {results['machine']['keras']}. Written by `benchmarks/run.py` on {results['date']}.",
        "",
        "## Recipes",
        "",
        "Test loss: MSE, or for the variational model the negative ELBO in nats per image.",
        "",
        "| model | post recipe: epochs, s, test loss | chapter recipe: epochs, s, test loss | "
        f"time-to-quality ratio (<= {t['time_to_quality_ratio']}) | "
        f"post time to the chapter's loss / chapter time (>= {t.get('speedup_at_chapter_quality', 5.0):.0f}) |",
        "|---|---|---|---|---|",
    ]
    for name, r in results["models"].items():
        if "post_recipe" not in r:
            continue
        post = r["post_recipe"]
        ratio = r.get("time_to_quality_ratio")
        speedup, bound = r.get("speedup_at_chapter_quality"), r.get("speedup_is_lower_bound")
        speedup_ok = speedup is not None and speedup >= t.get("speedup_at_chapter_quality", 5.0)
        if speedup is None:
            speedup_cell = "n/a"
        else:
            speedup_cell = f"{'>= ' if bound else ''}{speedup:.1f} ({'met' if speedup_ok else '**not met**'})"
        lines.append(
            f"| {name} | {post.get('epochs_run', 'n/a')} of {post.get('blog_epochs', 'n/a')}"
            f"{' (capped)' if post.get('capped') else ''}{' (stopped early)' if post.get('stopped_early') else ''}, "
            f"{fmt(r.get('post_train_seconds'), '.0f')}, {fmt(r.get('post_test_mse'), '.5f')} | "
            f"{r.get('chapter_epochs', 'n/a')}, {fmt(r.get('chapter_train_seconds'), '.0f')}, "
            f"{fmt(r.get('chapter_test_mse'), '.5f')} | "
            f"{fmt(ratio, '.3f')} ({'met' if ratio is not None and ratio <= t['time_to_quality_ratio'] else '**not met**'}) | "
            f"{speedup_cell} |"
        )
    lines += [
        "",
        "Time-to-quality ratio: training seconds the chapter's recipe needs to first reach the post "
        "recipe's final test loss, divided by the post recipe's training seconds (evaluation excluded). "
        "'n/a' means the chapter's recipe never reached it. 'Stopped early': the post recipe was "
        "stopped once its test loss fell below the best the chapter's recipe reached, which already "
        "decides the ratio (n/a). A capped post recipe ran fewer epochs than the blog's budget, so its "
        "ratio compares against an easier target. The last column is the issue's reading of the same "
        "race: the post recipe's training seconds to first reach the chapter recipe's final test loss, "
        "over the chapter recipe's training seconds; '>=' means the post recipe never reached it within "
        "its budget, so the figure is a lower bound (its whole training time).",
    ]
    chapters = results.get("chapters", {})
    if chapters:
        lines += [
            "",
            "## Chapters, full mode, cold weight cache",
            "",
            f"| chapter | wall time (<= {t['chapter_seconds_full']:.0f} s) | peak RSS (<= {t['peak_rss_mb']:,.0f} MB) |",
            "|---|---|---|",
        ]
        for stem, r in sorted(chapters.items()):
            if "error" in r:
                lines.append(f"| {stem} | **failed**: {r['error'].splitlines()[-1][:200]} | |")
                continue
            nb_s, rss = r.get("chapter_seconds_full"), r.get("peak_rss_mb")
            lines.append(
                f"| {stem} | {fmt(nb_s, '.0f')} s ({mark(nb_s is not None and nb_s <= t['chapter_seconds_full'])}) | "
                f"{fmt(rss, ',.0f')} MB ({mark(rss is not None and rss <= t['peak_rss_mb'])}) |"
            )
        lines += [
            "",
            "Each chapter runs from a cold start: an empty weight cache, so it trains every model it shows "
            "(the summary trains every model of the course). Peak RSS is the kernel's, sampled every 0.2 s.",
        ]
    lines += limits(results)
    return "\n".join(lines) + "\n"


#: The chapters' own models, each trained with its full recipe in its chapter, and on a cold cache
#: the models the chapter compares with (trained there too, with their own full recipe).
CHAPTER_MODELS = {
    "01_vanilla": ["vanilla"],
    "02_multilayer": ["multilayer", "vanilla"],
    "03_convolutional": ["convolutional", "vanilla"],
    "04_sparse": ["sparse", "vanilla"],
    "05_denoising": ["denoising"],
    "06_contractive": ["contractive"],
    "07_variational": ["variational"],
    "09_summary": list(POST_BUDGET),
}


def limits(results: dict) -> list[str]:
    """The section "What limits the targets not met", its figures taken from ``results``."""
    t = results.get("targets", TARGETS)
    models_, chapters, floor = results.get("models", {}), results.get("chapters", {}), results.get("floor")
    out = ["", "## What limits the targets not met", ""]
    close = [
        n
        for n, r in models_.items()
        if "post_curve" in r and (r.get("speedup_at_chapter_quality") or 0) < t["speedup_at_chapter_quality"]
    ]
    if close:
        parts, epoch_ratios, cost_ratios = [], [], []
        for n in close:
            r = models_[n]
            post, chap = r["post_curve"], r["chapter_curve"]
            hit = [k for k, m in enumerate(post["test_mse"]) if m <= r["chapter_test_mse"]]
            k = hit[0] if hit else len(post["test_mse"]) - 1
            post_epoch_s = post["train_seconds"][-1] / len(post["train_seconds"])
            chap_epoch_s = chap["train_seconds"][-1] / len(chap["train_seconds"])
            epoch_ratios.append((k + 1) / len(chap["train_seconds"]))
            cost_ratios.append(chap_epoch_s / post_epoch_s)
            parts.append(
                f"{n} {r['speedup_at_chapter_quality']:.1f}x (the post's recipe: {'' if hit else 'not within '}"
                f"{k + 1} epochs at {post_epoch_s:.1f} s each; the chapter's: {len(chap['train_seconds'])} epochs "
                f"at {chap_epoch_s:.1f} s each)"
            )
        out.append(
            f"- **Speed-up at the chapter's quality (>= {t['speedup_at_chapter_quality']:.0f}x)**: measured "
            + "; ".join(parts)
            + ". The post's recipe is Adam with its default learning rate, which already suits these small "
            f"models: it needs {min(epoch_ratios):.1f} to {max(epoch_ratios):.1f} times the chapter recipe's number "
            f"of epochs, and an epoch of the chapter's recipe costs {min(cost_ratios):.1f} to {max(cost_ratios):.1f} "
            "times one of the post's (smaller batches cost more per epoch). A five-fold speed-up would need "
            "the chapter's recipe to reach its loss in a fifth of the post's epochs at the same cost per "
            "epoch; the chapter recipes (larger early steps, a warm-up, a decaying learning rate, batches fed "
            "without copies, tuned in `benchmarks/levers.md`) get part of the way."
        )
    slow = {s: r for s, r in chapters.items() if (r.get("chapter_seconds_full") or 0) > t["chapter_seconds_full"]}
    if slow:
        parts = []
        for stem, r in sorted(slow.items()):
            own = [n for n in CHAPTER_MODELS.get(stem, []) if models_.get(n, {}).get("chapter_train_seconds")]
            if own:
                total = sum(models_[n]["chapter_train_seconds"] for n in own)
                parts.append(
                    f"{stem} {r['chapter_seconds_full']:.0f} s, of which {total:.0f} s is the full-recipe training of "
                    + " + ".join(own)
                )
            else:
                parts.append(f"{stem} {r['chapter_seconds_full']:.0f} s")
        out.append(
            f"- **Chapters in full mode, cold cache (<= {t['chapter_seconds_full']:.0f} s)**: "
            + "; ".join(parts)
            + " (training seconds from the recipes table above, the same run). A cold chapter trains its own "
            "model on all the training images and, when the weights of a model it compares with are not "
            "cached yet, that model too; side runs (at most "
            f"{config.SIDE_N_TRAIN:,} images), evaluation and figures come on top. A reader who runs the chapters "
            "in order finds the earlier chapters' weights cached, and a second run of a chapter reuses all of them."
        )
    heavy = {s: r for s, r in chapters.items() if (r.get("peak_rss_mb") or 0) > t["peak_rss_mb"]}
    if heavy:
        line = (
            f"- **Peak RSS (<= {t['peak_rss_mb']:,.0f} MB)**: "
            + ", ".join(f"{s} {r['peak_rss_mb']:,.0f} MB" for s, r in sorted(heavy.items()))
            + "."
        )
        if floor:
            line += (
                f" A kernel that only imports what the chapters import peaks at {floor['imports_mb']:,.0f} MB "
                f"({floor['imports_jax_first_mb']:,.0f} MB when TensorFlow's import also loads JAX, as it does "
                "without `utils`), and "
                f"{floor['imports_and_data_mb']:,.0f} MB once it has loaded the {results['n_train']:,} + "
                f"{results['n_test']:,} images (measured in this run, as the chapters are): that leaves "
                f"{t['peak_rss_mb'] - floor['imports_and_data_mb']:,.0f} MB for everything a chapter computes, "
                f"such as a noisy copy of the training images ({results['n_train'] * 784 * 4 / 2**20:,.0f} MB), the models, "
                "their optimiser states, and the arrays behind a figure or a probe."
            )
        out.append(line)
    if len(out) == 3:  # nothing to explain
        return ["", "## Targets", "", "Every target is met."]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=list(POST_BUDGET), choices=list(POST_BUDGET))
    parser.add_argument("--chapters", nargs="*", default=CHAPTERS, choices=CHAPTERS, help="notebooks to time")
    parser.add_argument("--dataset", default="fashion_mnist", choices=list(config.DATASETS))
    parser.add_argument("--post-epochs", type=int, default=None, help="cap recipe (a) at this many epochs")
    parser.add_argument("--skip-recipes", action="store_true", help="only time the notebooks")
    parser.add_argument("--skip-notebooks", action="store_true", help="only compare the recipes")
    parser.add_argument("--n-train", type=int, default=None, help="a seeded subset (a smoke run; default: all)")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args(argv)

    ds = data.load_dataset(args.dataset, n_train=args.n_train, n_test=args.n_train and max(args.n_train // 6, 100))
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    if results.get("dataset") != args.dataset or results.get("n_train") != len(ds[0][0]):
        results = {}
    results.setdefault("models", {})
    results.setdefault("chapters", {})
    results.update(
        dataset=args.dataset,
        n_train=len(ds[0][0]),
        n_test=len(ds[1][0]),
        source=ds.description,
        machine=machine(),
        date=time.strftime("%Y-%m-%d"),
        targets=TARGETS,
    )

    def write():
        out.write_text(json.dumps(results, indent=1))
        out.with_suffix(".md").write_text(markdown(results))

    if not args.skip_recipes:
        for name in args.models:
            results["models"][name] = bench_recipes(name, ds, args.post_epochs)
            write()
    if not args.skip_notebooks:
        results["floor"] = run_floor(args.dataset)
        print(f"[floor] {results['floor']}", flush=True)
        write()
        for stem in args.chapters:
            try:
                entry = results["chapters"][stem] = run_notebook(stem, args.dataset)
            except Exception as err:  # a failed chapter is a result too; time the others
                results["chapters"][stem] = {"error": f"{type(err).__name__}: {str(err)[-800:]}"}
                write()
                print(f"[{stem}] notebook FAILED: {type(err).__name__}", flush=True)
                continue
            print(
                f"[{stem}] notebook: {entry['chapter_seconds_full']:.0f} s, peak RSS {entry['peak_rss_mb']:.0f} MB",
                flush=True,
            )
            write()
    write()
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    sys.exit(main())
