"""nnkit.models: the perceptron (AND, OR, XOR), logistic regression (against scikit-learn, the
three gradient-descent modes) and the numpy MLP on MNIST digits and Fashion-MNIST."""
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nnkit import data
from nnkit.models import MLP, ConvergenceWarning, LogisticRegression, Perceptron, augment

GATES = {"and": data.and_data, "or": data.or_data, "nand": data.nand_data}


# --- perceptron -----------------------------------------------------------------------------

@pytest.mark.parametrize("gate", sorted(GATES))
@pytest.mark.parametrize("labels", ["01", "pm1"])
def test_perceptron_learns_linearly_separable_gates(gate, labels):
    X, y = GATES[gate]()
    if labels == "pm1":
        y = 2 * y - 1
    p = Perceptron(max_epochs=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # converging must not warn
        p.fit(X, y)
    assert p.converged_ and p.history_[-1] == 0 and p.history_[0] > 0
    assert p.w.shape == (3,)
    np.testing.assert_array_equal(p.predict(X), y)           # in the label convention given to fit
    assert p.score(X, y) == 1.0


def test_perceptron_reports_failure_on_xor():
    X, y = data.xor_data()
    p = Perceptron(max_epochs=25)
    with pytest.warns(ConvergenceWarning, match="did not converge.*not linearly separable"):
        p.fit(X, y)
    assert p.converged_ is False
    assert len(p.history_) == 25 and min(p.history_) > 0
    assert p.score(X, y) < 1.0


@pytest.mark.parametrize("w,gate,signals", [
    ([-30, 20, 20], "and", [-30, -10, -10, 10]),       # the lecture's AND neuron
    ([-10, 20, 20], "or", [-10, 10, 10, 30]),          # the lecture's OR neuron
])
def test_lecture_weights_reproduce_the_truth_tables(w, gate, signals):
    X, y = GATES[gate]()
    p = Perceptron.from_weights(w)
    np.testing.assert_array_equal(p.decision_function(X), signals)
    np.testing.assert_array_equal(p.predict(X), y)


def test_perceptron_follows_rosenblatts_rule():
    X, y = data.blobs(n=60, seed=3)
    X = X + 5.0                                     # far from the origin: the bias has to learn
    p = Perceptron(max_epochs=500, seed=1, record=True).fit(X, y)
    assert p.converged_ and len(p.steps_) == sum(p.history_) > 20
    Xa, ypm = np.hstack([np.ones((60, 1)), X]), 2 * y - 1
    for n, before, after in p.steps_:
        assert (1 if Xa[n] @ before >= 0 else -1) != ypm[n]            # a mistake ...
        np.testing.assert_allclose(after, before + ypm[n] * Xa[n])      # ... w <- w + y_n x_n
    np.testing.assert_allclose(p.steps_[-1][2], p.w)


def test_augment_prepends_the_constant_input():
    Xa = augment([[2, 3], [4, 5]])                  # lists and integers too: float64 out
    assert Xa.dtype == np.float64
    np.testing.assert_array_equal(Xa, [[1, 2, 3], [1, 4, 5]])
    assert augment(np.zeros((0, 3))).shape == (0, 4)


def test_perceptron_rejects_bad_input():
    X, y = data.and_data()
    with pytest.raises(ValueError, match=r"labels in \{-1, \+1\} or \{0, 1\}.*\[0, 2\]"):
        Perceptron().fit(X, 2 * y)
    with pytest.raises(ValueError, match=r"y of shape \(4,\), got \(3,\)"):
        Perceptron().fit(X, y[:3])
    with pytest.raises(ValueError, match=r"X of shape \(N, 2\), got \(4, 3\)"):
        Perceptron().fit(X, y).predict(np.ones((4, 3)))


# --- logistic regression ------------------------------------------------------------------

def _overlapping_blobs(n=300, seed=0):
    """Two Gaussian clouds that overlap a little: the maximum-likelihood fit exists."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, 2)) + np.where(y[:, None] == 1, [1.0, 0.5], [-1.0, -0.5])
    return X, y


def test_logistic_regression_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    X, y = _overlapping_blobs()
    ours = LogisticRegression(lr=1.0, epochs=3000).fit(X, y)
    sk = SkLogisticRegression(C=1e10, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, sk.coef_[0], rtol=1e-3)
    assert ours.intercept_ == pytest.approx(sk.intercept_[0], rel=1e-3, abs=1e-4)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X)[:, 1], atol=1e-4)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    assert np.all(np.diff(ours.history_["loss"]) <= 1e-12)      # full-batch GD: the loss never rises
    assert ours.history_["loss"][-1] < ours.history_["loss"][0] < np.log(2)


@pytest.mark.parametrize("batch_size,updates_per_epoch", [(None, 1), (1, 300), (32, 10)])
def test_logistic_regression_gd_sgd_and_minibatch(batch_size, updates_per_epoch):
    X, y = _overlapping_blobs()
    model = LogisticRegression(lr=0.1, epochs=20, batch_size=batch_size, seed=0,
                               record_path=True).fit(X, y)
    assert model.path_.shape == (20 * updates_per_epoch + 1, 3)
    np.testing.assert_array_equal(model.path_[0], 0)
    np.testing.assert_array_equal(model.path_[-1], model.w)
    assert len(model.history_["loss"]) == len(model.history_["accuracy"]) == 20
    assert model.history_["loss"][-1] < 0.9 * np.log(2)            # started at ln 2 (w = 0)
    assert model.score(X, y) > 0.8
    assert model.w.shape == (3,) and model.coef_.shape == (2,) and isinstance(model.intercept_, float)


def test_logistic_regression_label_conventions_agree():
    X, y = _overlapping_blobs(n=80, seed=1)
    a = LogisticRegression(epochs=50).fit(X, y)
    b = LogisticRegression(epochs=50).fit(X, 2 * y - 1)
    np.testing.assert_allclose(a.w, b.w)
    assert set(a.predict(X)) <= {0, 1} and set(b.predict(X)) <= {-1, 1}
    np.testing.assert_array_equal(2 * a.predict(X) - 1, b.predict(X))
    s = a.decision_function(X)
    np.testing.assert_allclose(a.predict_proba(X), 1 / (1 + np.exp(-s)))


# --- MLP ------------------------------------------------------------------------------------

@pytest.fixture
def one_blas_thread():
    """These tests check accuracy, not speed: with one BLAS thread they take the same time on a
    machine busy with other work (two spinning OpenBLAS threads then slow down many times)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def digits_subset(tmp_path_factory):
    """The 5,000-image digits subset (4,000/1,000), forced: no full MNIST anywhere we look."""
    empty = tmp_path_factory.mktemp("no-mnist")
    old = {k: os.environ.get(k) for k in ("NNKIT_DATA", "XDG_CACHE_HOME")}
    os.environ["NNKIT_DATA"], os.environ["XDG_CACHE_HOME"] = str(empty), str(empty / "cache")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                  # the subset warning is expected here
            mnist = data.load_mnist(kind="digits", download=False)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert mnist.is_subset and mnist.X_train.shape == (4000, 784) and mnist.X_test.shape == (1000, 784)
    return mnist


def test_mlp_reaches_92_percent_on_the_digits_subset(digits_subset, one_blas_thread):
    d = digits_subset
    model = MLP(sizes=(784, 100, 10), lr=0.05, epochs=10, batch_size=64, momentum=0.9, seed=0)
    model.fit(d.X_train, d.y_train, d.X_test, d.y_test)
    acc = model.score(d.X_test, d.y_test)
    assert acc >= 0.92, f"test accuracy {acc:.4f} on the digits subset"
    h = model.history_
    assert all(len(h[k]) == 10 for k in ("loss", "accuracy", "val_loss", "val_accuracy"))
    assert h["loss"][-1] < h["loss"][0] / 3
    assert h["val_accuracy"][-1] == pytest.approx(acc)
    assert all(p.dtype == np.float32 for p in model.params.values())
    proba = model.predict_proba(d.X_test[:50])
    assert proba.shape == (50, 10) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), model.predict(d.X_test[:50]))
    assert model.loss(d.X_test, d.y_test) == pytest.approx(h["val_loss"][-1])


FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.slow  # 10 epochs on 60,000 images
@pytest.mark.skipif(not (FASHION / "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's Fashion-MNIST (package dataset-fashion-mnist) is not installed in "
                           "/usr/share/datasets/fashion-mnist")
def test_mlp_reaches_88_percent_on_fashion_mnist_in_10_epochs(one_blas_thread):
    d = data.load_mnist(kind="fashion", root=FASHION, download=False)
    assert d.X_train.shape == (60000, 784) and not d.is_subset
    # per-pixel standardisation with the training statistics (+0.1: near-constant border pixels)
    mu, sigma = d.X_train.mean(axis=0), d.X_train.std(axis=0) + 0.1
    X_train, X_test = (d.X_train - mu) / sigma, (d.X_test - mu) / sigma
    model = MLP(sizes=(784, 100, 10), lr=0.05, epochs=10, batch_size=64, momentum=0.9, lr_decay=0.7,
                seed=0)
    model.fit(X_train, d.y_train)
    assert len(model.history_["loss"]) == 10
    acc = model.score(X_test, d.y_test)
    assert acc >= 0.88, f"test accuracy {acc:.4f} on Fashion-MNIST after 10 epochs"


def test_mlp_options_and_errors():
    X, y = data.spirals(n=200, noise=0.1, seed=0)
    for activation in ("relu", "tanh", "sigmoid", "leaky_relu"):
        m = MLP(sizes=(2, 16, 2), activation=activation, epochs=2, batch_size=32, seed=1).fit(X, y)
        assert len(m.history_["loss"]) == 2 and m.history_["val_loss"] == []
    m = MLP(sizes=(2, 32, 32, 2), dropout=0.2, weight_decay=1e-3, epochs=60, batch_size=20, seed=0,
            lr=0.05).fit(X, y)
    assert list(m.params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert m.history_["loss"][-1] < m.history_["loss"][0]
    assert m.score(X, y) > 0.7
    # predictions use evaluation mode: dropout off, deterministic
    np.testing.assert_array_equal(m.predict_proba(X), m.predict_proba(X))
    with pytest.raises(ValueError, match=r"X of shape \(N, 2\), got \(200, 1, 2\).*flatten"):
        m.predict(X[:, None, :])
    with pytest.raises(ValueError, match=r"y of shape \(200,\), got \(100,\)"):
        m.fit(X, y[:100])
    with pytest.raises(ValueError, match="activation"):
        MLP(activation="softplus")
    decayed = MLP(sizes=(2, 8, 2), lr=0.1, lr_decay=0.5, epochs=3, seed=0).fit(X, y)
    assert decayed.optimizer.lr == pytest.approx(0.1 * 0.5 ** 3)
