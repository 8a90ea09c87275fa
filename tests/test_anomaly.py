"""utils.metrics for the anomaly chapter: ROC AUC from ranks, and the rates of a threshold."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from utils import metrics


def test_roc_auc_known_values():
    assert metrics.roc_auc([0.1, 0.2, 0.3], [0.4, 0.5]) == 1.0  # every anomaly above every normal example
    assert metrics.roc_auc([0.4, 0.5], [0.1, 0.2, 0.3]) == 0.0  # the wrong way round
    assert metrics.roc_auc([1.0, 1.0], [1.0, 1.0, 1.0]) == 0.5  # all tied: chance
    # Pairs (normal, anomalous): 1 < 2 wins, 1 < 3 wins, 3 = 3 ties (half), 3 > 2 loses: 2.5 of 4 pairs.
    assert metrics.roc_auc([1.0, 3.0], [2.0, 3.0]) == pytest.approx(2.5 / 4)


def test_roc_auc_is_the_share_of_pairs_ranked_right_and_matches_sklearn():
    rng = np.random.default_rng(0)
    normal = rng.normal(size=200)
    anomalous = rng.normal(loc=1.0, size=70).round(1)  # rounded: many ties, with each other and across
    normal = normal.round(1)
    pairs = anomalous[None, :] - normal[:, None]
    by_pairs = (np.sum(pairs > 0) + 0.5 * np.sum(pairs == 0)) / pairs.size
    auc = metrics.roc_auc(normal, anomalous)
    assert auc == pytest.approx(by_pairs, abs=1e-12)
    labels = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))]
    assert auc == pytest.approx(roc_auc_score(labels, np.r_[normal, anomalous]), abs=1e-12)
    assert 0.7 < auc < 0.85  # two unit normals one standard deviation apart: about 0.76
    # Only the order matters: any increasing transformation of the scores gives the same AUC.
    assert metrics.roc_auc(np.exp(normal), np.exp(anomalous)) == pytest.approx(auc, abs=1e-12)


def test_roc_auc_rejects_bad_scores():
    with pytest.raises(ValueError, match="normal_scores must be a 1-D array"):
        metrics.roc_auc([], [1.0])
    with pytest.raises(ValueError, match="anomalous_scores must be a 1-D array"):
        metrics.roc_auc([1.0], np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        metrics.roc_auc([1.0, np.nan], [2.0])
    with pytest.raises(ValueError, match="real numbers"):
        metrics.roc_auc(["a", "b"], [2.0])


def test_detection_rates_counts_by_hand():
    normal = [0.1, 0.2, 0.3, 0.9]  # one false alarm above 0.5
    anomalous = [0.4, 0.6, 0.7]  # two of three found
    rates = metrics.detection_rates(normal, anomalous, threshold=0.5)
    assert rates["recall"] == pytest.approx(2 / 3)
    assert rates["false_alarm"] == pytest.approx(1 / 4)
    assert rates["precision"] == pytest.approx(2 / 3)  # 2 true of 3 flagged
    assert rates["flagged"] == 3


def test_detection_rates_flags_strictly_above_the_threshold():
    rates = metrics.detection_rates([0.5, 0.5], [0.5, 0.6], threshold=0.5)
    assert rates["recall"] == 0.5 and rates["false_alarm"] == 0.0 and rates["precision"] == 1.0
    # A threshold at the 95th percentile of normal scores flags about 5 % of similar normal scores.
    rng = np.random.default_rng(1)
    validation, test = rng.normal(size=20_000), rng.normal(size=20_000)
    rates = metrics.detection_rates(test, test + 3.0, threshold=np.quantile(validation, 0.95))
    assert rates["false_alarm"] == pytest.approx(0.05, abs=0.005)
    assert rates["recall"] > 0.9


def test_detection_rates_when_nothing_is_flagged_and_bad_input():
    rates = metrics.detection_rates([0.1, 0.2], [0.3], threshold=1.0)
    assert math.isnan(rates["precision"]) and rates["recall"] == 0.0 and rates["flagged"] == 0
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        metrics.detection_rates([0.1], [0.3], threshold=float("nan"))
    with pytest.raises(ValueError, match="normal_scores must be a 1-D array"):
        metrics.detection_rates(np.zeros((2, 2)), [0.3], threshold=0.5)
