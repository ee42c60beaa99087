"""nnkit.pytorch.training: device choice, seeding, loaders, the training loop, evaluation."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from nnkit.pytorch import training as tu


pytestmark = pytest.mark.usefixtures("torch_one_thread")


# ----------------------------------------------------------------------------- device
@pytest.mark.parametrize(
    "cuda, mps, expected",
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert tu.get_device() == torch.device(expected)


# ----------------------------------------------------------------------------- seeding
def _draws():
    return (torch.rand(3), np.random.rand(3), nn.Linear(4, 2).weight.detach().clone())


def test_seed_everything_repeats_torch_numpy_and_init():
    tu.seed_everything(7)
    a = _draws()
    tu.seed_everything(7)
    b = _draws()
    tu.seed_everything(8)
    c = _draws()
    for x, y, z in zip(a, b, c):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        assert not np.array_equal(np.asarray(x), np.asarray(z))


# ----------------------------------------------------------------------------- loaders
def test_make_loader_dtypes_batches_and_seeded_order():
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    batches = list(tu.make_loader(X, y, batch_size=4, shuffle=True, seed=3))
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert xb.dtype == torch.float32 and yb.dtype == torch.int64
    seen = torch.cat([yb for _, yb in batches]).tolist()
    assert sorted(seen) == list(range(10))  # every example exactly once
    for xb, yb in batches:  # inputs and targets stay paired
        np.testing.assert_array_equal(xb[:, 0].numpy(), 2 * yb.numpy())
    again = torch.cat([yb for _, yb in tu.make_loader(X, y, batch_size=4, shuffle=True, seed=3)]).tolist()
    other = torch.cat([yb for _, yb in tu.make_loader(X, y, batch_size=4, shuffle=True, seed=4)]).tolist()
    assert again == seen and other != seen
    in_order = torch.cat([yb for _, yb in tu.make_loader(X, y, batch_size=4, shuffle=False)]).tolist()
    assert in_order == list(range(10))


def test_make_loader_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 inputs and 2 targets"):
        tu.make_loader(np.zeros((3, 2)), np.zeros(2, dtype=int))


# ----------------------------------------------------------------------------- fit / evaluate / predict
def _blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 2)) + 3.0 * (2 * y[:, None] - 1)
    return X.astype(np.float32), y


def test_fit_reduces_the_loss_and_returns_the_history():
    X, y = _blobs()
    tu.seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    loader = tu.make_loader(X, y, batch_size=32, seed=0)
    before, _ = tu.evaluate(model, tu.make_loader(X, y, 64, shuffle=False), "cpu")
    hist = tu.fit(model, loader, epochs=5, lr=0.05, val_loader=tu.make_loader(X, y, 64, shuffle=False),
                  device="cpu", progress=False)
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in hist.values())
    assert hist["loss"][-1] < hist["loss"][0] and hist["val_loss"][-1] < 0.5 * before
    assert hist["val_accuracy"][-1] > 0.95
    loss, acc = tu.evaluate(model, tu.make_loader(X, y, 64, shuffle=False), "cpu")
    assert loss == pytest.approx(hist["val_loss"][-1]) and acc == pytest.approx(hist["val_accuracy"][-1])
    labels = tu.predict(model, X)
    assert labels.shape == (len(X),) and np.mean(labels == y) == pytest.approx(acc)
    proba = tu.predict(model, X, output="proba")
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), labels)
    with pytest.raises(ValueError, match="'labels', 'proba' or 'raw'"):
        tu.predict(model, X, output="logits")


def test_fit_is_reproducible_from_a_seed():
    X, y = _blobs(seed=1)

    def run():
        tu.seed_everything(5)
        model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
        hist = tu.fit(model, tu.make_loader(X, y, 16, seed=5), epochs=2, device="cpu", progress=False)
        return hist["loss"], model[0].weight.detach().clone()

    (l1, w1), (l2, w2) = run(), run()
    assert l1 == l2 and torch.equal(w1, w2)


def test_fit_default_optimizer_leaves_frozen_parameters_alone():
    X, y = _blobs(seed=2)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    frozen = model[0].weight.detach().clone()
    trained = model[2].weight.detach().clone()
    tu.fit(model, tu.make_loader(X, y, 32), epochs=1, device="cpu", progress=False)
    assert torch.equal(model[0].weight, frozen)
    assert not torch.equal(model[2].weight, trained)


def test_fit_handles_regression_targets_with_nan_accuracy():
    x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    hist = tu.fit(nn.Linear(1, 1), tu.make_loader(x, 3 * x, 16), epochs=3, lr=0.1,
                  loss_fn=nn.MSELoss(), device="cpu", progress=False)
    assert hist["loss"][-1] < hist["loss"][0]
    assert all(math.isnan(a) for a in hist["accuracy"])


def test_progress_false_prints_nothing_and_true_shows_bars(capfd):
    X, y = _blobs(n=64)
    model = nn.Linear(2, 2)
    tu.fit(model, tu.make_loader(X, y, 16), epochs=2, device="cpu", progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    tu.fit(model, tu.make_loader(X, y, 16), epochs=2, device="cpu", progress=True)
    out, err = capfd.readouterr()
    assert "epochs" in err and "batches" in err


def test_fit_rejects_bad_arguments():
    X, y = _blobs(n=16)
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="epochs"):
        tu.fit(model, tu.make_loader(X, y, 8), epochs=0, progress=False)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        tu.fit(model, tu.make_loader(X, y, 8), epochs=1, progress=False)


def test_count_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    assert tu.count_parameters(model) == 3 * 4 + 4 + 4 * 2 + 2
    model[0].requires_grad_(False)
    assert tu.count_parameters(model, trainable_only=True) == 4 * 2 + 2
