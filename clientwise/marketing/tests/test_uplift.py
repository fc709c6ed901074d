"""Uplift models and their evaluation (clientwise/marketing/uplift.py): the Qini curve by hand, and T- and
X-learners recovering a known heterogeneous effect in a simulated randomised campaign. No database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clientwise.marketing import uplift as U


def test_qini_curve_by_hand():
    score = [0.9, 0.8, 0.5, 0.5, 0.2, 0.1]
    treatment = [1, 0, 1, 1, 0, 0]
    outcome = [1, 0, 1, 0, 0, 1]
    q = U.qini_curve(score, treatment, outcome)
    # Tie groups end after 1, 2, 4, 5, 6 rows. Treated total 3. Prefix (N_t, N_c, Y_t, Y_c):
    # (1,0,1,0) (1,1,1,0) (3,1,2,0) (3,2,2,0) (3,3,2,1) → Qini (Y_t − Y_c·N_t/N_c)/3 = 1/3, 1/3, 2/3, 2/3, 1/3.
    assert q.fraction == pytest.approx([0, 1 / 6, 2 / 6, 4 / 6, 5 / 6, 1])
    assert q.qini == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1 / 3])
    # Uplift curve (Ȳ_t − Ȳ_c)·k/N, 0 while an arm is empty: 0, 1/3, 4/9, 5/9, 1/3.
    assert q.uplift == pytest.approx([0, 0, 1 / 3, 4 / 9, 5 / 9, 1 / 3])
    assert q.overall_lift == pytest.approx(1 / 3)
    assert q.random == pytest.approx(np.array(q.fraction) / 3)
    # Trapezoids: area under the Qini curve 4/9, under the random line 1/6 → 5/18; AUUC 17/54.
    assert q.qini_coefficient == pytest.approx(5 / 18)
    assert q.auuc == pytest.approx(17 / 54)
    # Tied scores are one block: their order does not matter.
    swapped = U.qini_curve([0.9, 0.8, 0.5, 0.5, 0.2, 0.1], [1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 0, 1])
    assert swapped.qini_coefficient == pytest.approx(q.qini_coefficient)
    # Uplift at 50 %: rows 0, 1, 2 → treated mean 1, control mean 0.
    assert U.uplift_at_k(score, treatment, outcome, 0.5) == pytest.approx(1.0)
    assert U.uplift_at_k(score, treatment, outcome, 1.0) == pytest.approx(1 / 3)


def test_a_ranking_without_information_scores_zero():
    rng = np.random.default_rng(1)
    t = rng.random(5000) < 0.5
    y = (rng.random(5000) < 0.1 + 0.05 * t).astype(float)
    q = U.qini_curve(np.zeros(5000), t, y)
    assert q.qini_coefficient == pytest.approx(0.0, abs=1e-12)  # one tie block: the random line itself
    assert q.fraction.tolist() == [0.0, 1.0]


def _campaign(n: int, seed: int, *, revenue: bool = False):
    """A randomised campaign (70 % treated) whose effect depends on feature 2: from −5 to +20 points of
    conversion (or, for revenue, a spend effect likewise), while features 0 and 1 drive the baseline."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    t = rng.random(n) < 0.7
    tau = 0.25 / (1 + np.exp(-2.5 * X[:, 2])) - 0.05
    base = 1 / (1 + np.exp(-(-1.5 + 0.6 * X[:, 0] + 0.4 * X[:, 1])))
    if revenue:
        spend = 100 * base + rng.gamma(2.0, 20.0, n) + 100 * tau * t
        return X, t, spend, 100 * tau
    y = (rng.random(n) < np.clip(base + t * tau, 0, 1)).astype(float)
    return X, t, y, tau


@pytest.fixture(scope="module")
def train_eval():
    return _campaign(20_000, 1), _campaign(20_000, 2)


@pytest.mark.parametrize("learner", ["t", "x"])
def test_uplift_ranking_beats_random_on_the_truth(train_eval, learner):
    (X, t, y, _), (Xe, te, ye, tau_e) = train_eval
    model = U.fit_uplift(X, t, y, learner=learner, random_state=0)
    u = model.predict(Xe)
    q = U.qini_curve(u, te, ye)
    rng = np.random.default_rng(3)
    random_q = np.array([U.qini_curve(rng.random(ye.size), te, ye).qini_coefficient for _ in range(50)])
    at20 = U.uplift_at_k(u, te, ye, 0.2)
    corr = np.corrcoef(u, tau_e)[0, 1]
    top = np.argsort(-u)[: ye.size // 5]
    print(
        f"\n{learner}-learner: Qini coefficient {q.qini_coefficient:.4f} (random rankings {random_q.mean():.4f} ± "
        f"{random_q.std():.4f}), AUUC {q.auuc:.4f} (random {q.overall_lift / 2:.4f}), uplift at 20 % {at20:.4f} vs "
        f"overall {q.overall_lift:.4f}; true effect in the top 20 % {tau_e[top].mean():.4f} vs "
        f"{tau_e.mean():.4f}; corr with the truth {corr:.3f}"
    )
    assert q.qini_coefficient > random_q.max() and q.qini_coefficient > random_q.mean() + 5 * random_q.std()
    assert q.auuc > q.overall_lift / 2
    assert at20 > 1.5 * q.overall_lift
    assert tau_e[top].mean() > 1.8 * tau_e.mean()
    assert corr > 0.6
    assert model.binary and model.treated_share == pytest.approx(t.mean())


@pytest.mark.parametrize("learner", ["t", "x"])
def test_fit_is_deterministic(learner):
    X, t, y, _ = _campaign(3000, 4)
    a = U.fit_uplift(X, t, y, learner=learner, random_state=7).predict(X)
    b = U.fit_uplift(X, t, y, learner=learner, random_state=7).predict(X)
    assert np.array_equal(a, b)


def test_revenue_outcome_and_the_with_and_without_forecast():
    X, t, y, _ = _campaign(8000, 5, revenue=True)
    Xe, te, ye, tau_e = _campaign(8000, 6, revenue=True)
    for learner in ("t", "x"):
        model = U.fit_uplift(pd.DataFrame(X, columns=list("abcde")), t, y, learner=learner)
        assert not model.binary and model.feature_names == tuple("abcde")
        u = model.predict(Xe)
        assert np.corrcoef(u, tau_e)[0, 1] > 0.5
        assert U.qini_curve(u, te, ye).qini_coefficient > 0
        without, with_ = model.predict_outcomes(Xe)
        # The forecast of the outcome with and without the campaign from the first-stage models.
        assert with_.mean() - without.mean() == pytest.approx(tau_e.mean(), abs=3.0)
        if learner == "t":
            assert np.allclose(with_ - without, u)


def test_small_and_degenerate_data_do_not_crash():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(10, 3))
    t = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 1])
    y = np.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 1.0])
    for learner in ("t", "x"):
        u = U.fit_uplift(X, t, y, learner=learner).predict(X)
        assert u.shape == (10,) and np.isfinite(u).all()
    # No conversion at all in either arm: a flat zero uplift.
    X2 = rng.normal(size=(300, 2))
    t2 = rng.random(300) < 0.9
    zero = U.fit_uplift(X2, t2, np.zeros(300), learner="x").predict(X2)
    assert np.array_equal(zero, np.zeros(300))
    # Missing features are allowed (the trees route them).
    X2[::7, 0] = np.nan
    assert np.isfinite(U.fit_uplift(X2, t2, (rng.random(300) < 0.3).astype(float)).predict(X2)).all()
    # One feature as a 1-D array.
    assert U.fit_uplift(X2[:, 1], t2, rng.normal(size=300)).predict(X2[:, 1]).shape == (300,)


def test_bad_input_gets_clear_errors():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="learner"):
        U.fit_uplift(X, [1, 0, 1, 0], [1, 0, 1, 0], learner="s")
    with pytest.raises(ValueError, match="both arms"):
        U.fit_uplift(X, [1, 1, 1, 1], [1, 0, 1, 0])
    with pytest.raises(ValueError, match="treatment must be 0/1"):
        U.fit_uplift(X, [1, 2, 1, 0], [1, 0, 1, 0])
    with pytest.raises(ValueError, match="outcome has a missing"):
        U.fit_uplift(X, [1, 0, 1, 0], [1, np.nan, 1, 0])
    with pytest.raises(ValueError, match="one value per row"):
        U.fit_uplift(X, [1, 0, 1], [1, 0, 1, 0])
    model = U.fit_uplift(X, [1, 0, 1, 0], [1, 0, 1, 0])
    with pytest.raises(ValueError, match="fitted on 2"):
        model.predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="k must be"):
        U.uplift_at_k([1, 2], [1, 0], [1, 0], 0)
    with pytest.raises(ValueError, match="no control"):
        U.uplift_at_k([3, 2, 1], [1, 1, 0], [1, 0, 0], 0.5)
    with pytest.raises(ValueError, match="both treated and control"):
        U.qini_curve([3, 2, 1], [1, 1, 1], [1, 0, 0])
