"""Toy data sets: truth tables, 2-D sets, the 1-D target, the label helper, and a light import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import nnkit.data as data

TWO_D = {
    "blobs": data.blobs,
    "moons": data.moons,
    "circles": data.circles,
    "spirals": data.spirals,
}


@pytest.mark.parametrize(
    "make, outputs",
    [(data.and_data, [0, 0, 0, 1]), (data.or_data, [0, 1, 1, 1]),
     (data.nand_data, [1, 1, 1, 0]), (data.xor_data, [0, 1, 1, 0])],
    ids=["and", "or", "nand", "xor"],
)
def test_truth_tables(make, outputs):
    X, y = make()
    assert X.dtype == np.float64 and X.shape == (4, 2)
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert np.issubdtype(y.dtype, np.integer) and y.tolist() == outputs
    X[0, 0] = 9  # a caller's copy: the next call is unaffected
    assert make()[0][0, 0] == 0


@pytest.mark.parametrize("name", list(TWO_D))
def test_two_d_sets_shapes_labels_and_seeds(name):
    make = TWO_D[name]
    X, y = make(n=101, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64 and np.isfinite(X).all()
    assert y.shape == (101,) and y.dtype == np.int64
    assert set(np.unique(y).tolist()) == {0, 1} and abs(int(y.sum()) - 50) <= 1  # balanced
    X2, y2 = make(n=101, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make(n=101, seed=4)[0])


@pytest.mark.parametrize("name", list(TWO_D))
def test_two_d_sets_reject_a_bad_size(name):
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        TWO_D[name](n=1)


@pytest.mark.parametrize("seed", range(8))
def test_blobs_are_linearly_separable_for_every_seed(seed):
    from sklearn.svm import LinearSVC

    X, y = data.blobs(n=200, seed=seed)
    assert LinearSVC(C=1e4, max_iter=100_000).fit(X, y).score(X, y) == 1.0


def test_spirals_need_a_nonlinear_model():
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    X, y = data.spirals(n=400, noise=0.05, seed=0)
    Xt, yt = data.spirals(n=400, noise=0.05, seed=1)
    assert LogisticRegression().fit(X, y).score(Xt, yt) < 0.75
    assert KNeighborsClassifier(5).fit(X, y).score(Xt, yt) > 0.9
    assert np.abs(X).max() < 1.5


def test_circles_put_class_one_inside():
    X, y = data.circles(n=400, noise=0.05, factor=0.4, seed=0)
    r = np.linalg.norm(X, axis=1)
    assert r[y == 1].max() < r[y == 0].min()


def test_to_pm1():
    assert data.to_pm1([0, 1, 1, 0]).tolist() == [-1, 1, 1, -1]
    assert data.to_pm1(np.array([-1, 1])).tolist() == [-1, 1]
    assert data.to_pm1(np.array([1.0, 0.0])).dtype == np.int64
    with pytest.raises(ValueError, match=r"\{0, 1\}.*got values \[0, 2\]"):
        data.to_pm1([0, 2])


def test_target_function_is_smooth_and_bumpy():
    x = np.linspace(*data.TARGET_DOMAIN, 2001)
    f = data.target_function(x)
    assert f.shape == x.shape and np.isfinite(f).all()
    assert np.abs(np.diff(f)).max() < 0.02  # continuous: no jumps on a fine grid
    slope_sign_changes = np.count_nonzero(np.diff(np.sign(np.diff(f))) != 0)
    assert slope_sign_changes >= 3  # several bumps: not a line, not a single hump
    assert data.target_function(np.zeros((2, 3))).shape == (2, 3)


def test_sample_target():
    x, t = data.sample_target(50, seed=1)
    assert x.shape == (50, 1) and t.shape == (50, 1) and x.dtype == t.dtype == np.float64
    lo, hi = data.TARGET_DOMAIN
    assert lo <= x.min() and x.max() <= hi and np.all(np.diff(x[:, 0]) >= 0)
    np.testing.assert_allclose(t, data.target_function(x))
    np.testing.assert_array_equal(x, data.sample_target(50, seed=1)[0])
    xn, tn = data.sample_target(50, seed=1, noise=0.1)
    np.testing.assert_array_equal(xn, x)
    assert 0.02 < np.std(tn - t) < 0.3


def test_import_nnkit_data_loads_no_heavy_library():
    code = (
        "import sys, nnkit; before = set(sys.modules); import nnkit.data; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(new & {'torch', 'matplotlib', 'ipywidgets', 'sklearn', 'mlxtend', 'tqdm', 'pandas'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
