"""utils.config: the quick/full switch, the dataset switch and the budgets."""

import dataclasses

import pytest

from utils import config


def test_full_mode_is_the_default(monkeypatch):
    monkeypatch.delenv("AE_QUICK", raising=False)
    assert config.quick_mode() is False
    b = config.budget("vanilla")
    assert b.mode == "full" and b.n_train is None and b.n_test is None


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_quick_switch(monkeypatch, value):
    monkeypatch.setenv("AE_QUICK", value)
    assert config.quick_mode() is True
    b = config.budget("convolutional")
    assert b.mode == "quick" and b.n_train == config.QUICK_N_TRAIN


def test_bad_switch_value_is_explained(monkeypatch):
    monkeypatch.setenv("AE_QUICK", "maybe")
    with pytest.raises(ValueError, match="AE_QUICK must be one of"):
        config.quick_mode()


def test_quick_budgets_are_smaller_and_share_one_split():
    for name in config.MODELS:
        quick, full = config.budget(name, quick=True), config.budget(name, quick=False)
        assert quick.epochs_for(quick.n_train) * quick.n_train < full.epochs_for(60000) * 60000
        assert (quick.n_train, quick.n_test) == (config.QUICK_N_TRAIN, config.QUICK_N_TEST)


def test_min_steps_adds_epochs_on_small_data():
    b = config.Budget(mode="full", n_train=None, n_test=None, epochs=5, batch_size=100, min_steps=1000)
    assert b.epochs_for(60000) == 5  # 600 steps per epoch: 5 epochs are enough
    assert b.epochs_for(4000) == 25  # 40 steps per epoch: 25 epochs for 1,000 steps
    with pytest.raises(ValueError, match="n_train must be a positive integer"):
        b.epochs_for(0)


def test_budget_is_immutable_and_validated():
    b = config.budget("sparse", quick=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.epochs = 100
    with pytest.raises(ValueError, match="schedule must be"):
        config.Budget(mode="full", n_train=None, n_test=None, epochs=1, batch_size=1, schedule="step")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        config.Budget(mode="full", n_train=None, n_test=None, epochs=1, batch_size=0)


@pytest.mark.parametrize("name", config.COURSE_MODELS)
def test_side_runs_use_the_quick_recipe_on_at_most_side_n_train_images(name):
    quick = config.budget(name, quick=True)
    # Quick mode: the side budget is the chapter's own quick budget, so the weight cache is shared.
    assert config.side_budget(name, config.QUICK_N_TRAIN, config.QUICK_N_TEST, quick=True) == quick
    # Full mode on 60,000 images: the quick recipe, on the first SIDE_N_TRAIN images.
    side = config.side_budget(name, 60_000, 10_000, quick=False)
    assert side.mode == "side" and (side.n_train, side.n_test) == (config.SIDE_N_TRAIN, 10_000)
    assert dataclasses.replace(side, mode="quick", n_train=quick.n_train, n_test=quick.n_test) == quick
    full = config.budget(name, quick=False)
    assert side.epochs_for(side.n_train) * side.n_train < full.epochs_for(60_000) * 60_000 / 5
    # Fewer images than the cap: all of them.
    assert config.side_budget(name, 800, 200, quick=False).n_train == 800


def test_side_budget_rejects_bad_counts_and_models():
    with pytest.raises(ValueError, match="n_train must be a positive integer"):
        config.side_budget("vanilla", 0, 10)
    with pytest.raises(ValueError, match="unknown model 'adversarial'"):
        config.side_budget("adversarial", 100, 10)


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="unknown model 'adversarial'"):
        config.budget("adversarial")


def test_dataset_name(monkeypatch):
    monkeypatch.delenv("AE_DATASET", raising=False)
    assert config.dataset_name() == "mnist"
    monkeypatch.setenv("AE_DATASET", "Fashion_MNIST")
    assert config.dataset_name() == "fashion_mnist"


def _budget(**changes):
    fields = {"mode": "full", "n_train": None, "n_test": None, "epochs": 1, "batch_size": 1}
    return config.Budget(**{**fields, **changes})


@pytest.mark.parametrize("field", ["epochs", "batch_size", "steps_per_execution", "n_train", "n_test"])
@pytest.mark.parametrize("bad", [0, -3, True, 2.0, "8"])
def test_budget_counts_must_be_positive_integers(field, bad):
    with pytest.raises(ValueError, match=f"{field} must be a positive integer"):
        _budget(**{field: bad})


@pytest.mark.parametrize("field", ["min_steps", "warmup_epochs"])
def test_budget_min_steps_and_warmup_may_be_zero_but_not_bool_or_fraction(field):
    assert getattr(_budget(**{field: 0}), field) == 0
    for bad in (-1, True, False, 0.0, 1.5, None):
        with pytest.raises(ValueError, match=f"{field} must be a non-negative integer"):
            _budget(**{field: bad})


def test_budget_learning_rate_must_be_a_positive_finite_number():
    assert _budget(learning_rate=3e-3).learning_rate == 3e-3
    for bad, message in (
        ("1e-3", "must be a number"),
        (True, "must be a number"),
        (None, "must be a number"),
        (float("nan"), "must be a finite"),
        (float("inf"), "must be a finite"),
        (0, "must be positive"),
        (-1e-3, "must be positive"),
    ):
        with pytest.raises(ValueError, match=f"learning_rate {message}"):
            _budget(learning_rate=bad)


def test_epochs_for_rejects_bool_and_fractional_n_train():
    b = _budget(epochs=5, batch_size=100, min_steps=1000)
    for bad in (True, 0, 4000.0, "4000"):
        with pytest.raises(ValueError, match="n_train must be a positive integer"):
            b.epochs_for(bad)
