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
    assert b.epochs_for(60000) == 5     # 600 steps per epoch: 5 epochs are enough
    assert b.epochs_for(4000) == 25     # 40 steps per epoch: 25 epochs for 1,000 steps
    with pytest.raises(ValueError, match="n_train must be at least 1"):
        b.epochs_for(0)


def test_budget_is_immutable_and_validated():
    b = config.budget("sparse", quick=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.epochs = 100
    with pytest.raises(ValueError, match="schedule must be"):
        config.Budget(mode="full", n_train=None, n_test=None, epochs=1, batch_size=1, schedule="step")
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        config.Budget(mode="full", n_train=None, n_test=None, epochs=1, batch_size=0)


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="unknown model 'variational'"):
        config.budget("variational")


def test_dataset_name(monkeypatch):
    monkeypatch.delenv("AE_DATASET", raising=False)
    assert config.dataset_name() == "mnist"
    monkeypatch.setenv("AE_DATASET", "Fashion_MNIST")
    assert config.dataset_name() == "fashion_mnist"
