"""nnkit.layers: forward and backward of every layer against torch.autograd (float64, relative
error < 1e-9) and finite differences (< 1e-6); shapes, dtypes and the Sequential contract."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnkit import layers as L
from nnkit.gradcheck import check_layer, check_model, numerical_gradient, rel_error
from nnkit.losses import softmax_cross_entropy


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _max_rel(a, b):
    return rel_error(a, b).max()


SHAPES = [(1, 3, 2, 0), (4, 5, 3, 1), (16, 10, 7, 2), (3, 1, 1, 3)]   # batch, n_in, n_out, seed


@pytest.mark.parametrize("batch,n_in,n_out,seed", SHAPES)
@pytest.mark.parametrize("init", ["he", "xavier", "normal"])
def test_dense_matches_torch_and_finite_differences(batch, n_in, n_out, seed, init):
    rng = np.random.default_rng(seed)
    layer = L.Dense(n_in, n_out, init=init, seed=seed)
    layer.params["b"][:] = rng.standard_normal(n_out)
    x, dy = rng.standard_normal((batch, n_in)), rng.standard_normal((batch, n_out))
    s = layer.forward(x)
    dx = layer.backward(dy)
    xt, Wt, bt = _t(x, True), _t(layer.params["W"], True), _t(layer.params["b"], True)
    st = xt @ Wt + bt
    (st * _t(dy)).sum().backward()
    assert _max_rel(s, st.detach().numpy()) < 1e-9
    assert _max_rel(dx, xt.grad.numpy()) < 1e-9
    assert _max_rel(layer.grads["W"], Wt.grad.numpy()) < 1e-9
    assert _max_rel(layer.grads["b"], bt.grad.numpy()) < 1e-9
    report = check_layer(layer, x, seed=seed)
    assert {e.name for e in report.entries} == {"W", "b", "x"}
    assert report.ok(1e-6), str(report)


ACTIVATION_LAYERS = {
    "Sigmoid": (L.Sigmoid, torch.sigmoid),
    "Tanh": (L.Tanh, torch.tanh),
    "ReLU": (L.ReLU, torch.relu),
    "LeakyReLU": (L.LeakyReLU, lambda s: F.leaky_relu(s, 0.01)),
    "Softmax": (L.Softmax, lambda s: torch.softmax(s, dim=-1)),
    "Identity": (L.Identity, lambda s: s),
}


@pytest.mark.parametrize("batch,n,seed", [(1, 1, 0), (4, 6, 1), (9, 10, 2)])
@pytest.mark.parametrize("name", sorted(ACTIVATION_LAYERS))
def test_activation_layers_match_torch_and_finite_differences(name, batch, n, seed):
    cls, torch_f = ACTIVATION_LAYERS[name]
    rng = np.random.default_rng(seed)
    s, dx = 2 * rng.standard_normal((batch, n)), rng.standard_normal((batch, n))
    layer = cls()
    x = layer.forward(s)
    delta = layer.backward(dx)
    st = _t(s, True)
    xt = torch_f(st)
    (xt * _t(dx)).sum().backward()
    assert _max_rel(x, xt.detach().numpy()) < 1e-9
    assert _max_rel(delta, st.grad.numpy()) < 1e-9
    report = check_layer(layer, s, seed=seed)
    assert [e.name for e in report.entries] == ["x"]
    assert report.ok(1e-6), str(report)


def test_relu_inplace_overwrites_only_when_asked():
    s = np.array([[-1.0, 2.0], [3.0, -4.0]])
    out = L.ReLU().forward(s)
    assert s[0, 0] == -1 and out[0, 0] == 0
    layer = L.ReLU(inplace=True)
    out = layer.forward(s)
    assert out is s and s[0, 0] == 0
    dx = np.ones((2, 2))
    delta = layer.backward(dx)
    assert delta is dx
    np.testing.assert_array_equal(delta, [[0, 1], [1, 0]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dropout_eval_is_identity_and_matches_torch(seed):
    rng = np.random.default_rng(seed)
    x, dy = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    layer = L.Dropout(0.4, seed=seed).eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(dy), dy)
    xt = _t(x, True)
    (F.dropout(xt, 0.4, training=False) * _t(dy)).sum().backward()
    assert _max_rel(layer.backward(dy), xt.grad.numpy()) < 1e-9
    assert check_layer(layer, x, seed=seed).ok(1e-6)


@pytest.mark.parametrize("p,seed", [(0.2, 0), (0.5, 1), (0.8, 2)])
def test_dropout_train_with_a_fixed_mask(p, seed):
    rng = np.random.default_rng(seed)
    x, dy = rng.standard_normal((8, 7)), rng.standard_normal((8, 7))
    layer = L.Dropout(p, seed=seed)
    y = layer.forward(x)
    mask = layer.mask
    kept = mask != 0
    np.testing.assert_allclose(mask[kept], 1 / (1 - p))               # inverted dropout scaling
    np.testing.assert_allclose(y, x * mask)
    dx = layer.backward(dy)
    xt = _t(x, True)
    (xt * _t(mask) * _t(dy)).sum().backward()                          # torch with the same mask
    assert _max_rel(dx, xt.grad.numpy()) < 1e-9

    def f():                                                          # same mask each call: reseed
        layer.rng = np.random.default_rng(seed)
        return float(np.sum(layer.forward(x) * dy))
    assert _max_rel(dx, numerical_gradient(f, x)) < 1e-6


def test_dropout_backward_uses_the_mask_forward_cached():
    x, dy = np.ones((5, 6)), np.arange(30.0).reshape(5, 6)
    layer = L.Dropout(0.5, seed=3)
    with pytest.raises(RuntimeError, match=r"Dropout\(p=0\.5\)\.backward called before forward"):
        layer.backward(dy)
    y = layer.forward(x)
    u = np.random.default_rng(3).random((5, 6))                       # the seed draws the same mask as ever
    np.testing.assert_array_equal(layer.mask, (u >= 0.5) / 0.5)
    np.testing.assert_array_equal(y, x * layer.mask)
    mask = layer.mask.copy()
    layer.rng = np.random.default_rng(99)                             # a new generator: no new mask drawn
    layer.eval()                                                      # the mode at backward does not matter
    np.testing.assert_array_equal(layer.backward(dy), dy * mask)
    with pytest.raises(ValueError) as err:
        layer.backward(dy.T)
    assert str(err.value) == "Dropout(p=0.5).backward expected dy of shape (5, 6), got (6, 5)"
    np.testing.assert_array_equal(layer.forward(x), x)               # evaluation: m = 1
    np.testing.assert_array_equal(layer.mask, np.ones((5, 6)))
    np.testing.assert_array_equal(layer.backward(dy), dy)


@pytest.mark.parametrize("name", sorted(ACTIVATION_LAYERS))
def test_activation_layers_keep_the_layer_contract(name):
    layer = ACTIVATION_LAYERS[name][0]()
    assert isinstance(layer, L.Layer) and layer.params == {} and layer.grads == {}
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((2, 3)))
    s = np.array([[-1.0, 0.5, 2.0], [3.0, -0.5, 0.0]])
    assert layer.forward(s).shape == (2, 3)
    with pytest.raises(ValueError) as err:
        layer.backward(np.zeros((3, 2)))
    assert str(err.value) == f"{layer!r}.backward expected dy of shape (2, 3) (the forward output), got (3, 2)"
    assert layer.backward(np.ones((2, 3))).shape == (2, 3)


def test_dropout_keeps_the_expected_value():
    layer = L.Dropout(0.3, seed=0)
    y = layer.forward(np.ones((400, 500), np.float32))
    assert y.dtype == np.float32
    assert abs(np.mean(y == 0) - 0.3) < 0.01
    assert abs(y.mean() - 1) < 0.01
    with pytest.raises(ValueError, match=r"\[0, 1\).*1\.5"):
        L.Dropout(1.5)


def _torch_mlp_grads(net, X, y, acts):
    """The same Sequential in torch: grads of softmax cross-entropy w.r.t. every parameter and X."""
    Xt = _t(X, True)
    params = {k: _t(v, True) for k, v in net.params.items()}
    h, l = Xt, 0
    for layer in net.layers:
        if isinstance(layer, L.Dense):
            l += 1
            h = h @ params[f"W{l}"] + params[f"b{l}"]
        elif isinstance(layer, L.Dropout):
            continue
        else:
            h = acts[type(layer).__name__][1](h)
    loss = F.cross_entropy(h, torch.tensor(y))
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in params.items()}, Xt.grad.numpy()


@pytest.mark.parametrize("sizes,act,seed", [((5, 7, 3), "ReLU", 0), ((4, 6, 5, 3), "Tanh", 1),
                                            ((8, 9, 9, 4), "Sigmoid", 2), ((3, 4, 2), "LeakyReLU", 3)])
def test_sequential_mlp_matches_torch_and_finite_differences(sizes, act, seed):
    rng = np.random.default_rng(seed)
    layers = []
    for l in range(1, len(sizes)):
        layers.append(L.Dense(sizes[l - 1], sizes[l], seed=seed + l))
        if l < len(sizes) - 1:
            layers += [ACTIVATION_LAYERS[act][0](), L.Dropout(0.5, seed=seed).eval()]
    net = L.Sequential(*layers)
    for b in (v for k, v in net.params.items() if k.startswith("b")):
        b[:] = 0.1 * rng.standard_normal(b.shape)
    X, y = rng.standard_normal((6, sizes[0])), rng.integers(0, sizes[-1], 6)
    loss, delta = softmax_cross_entropy(net.forward(X), y)
    dX = net.backward(delta)
    t_loss, t_grads, t_dX = _torch_mlp_grads(net, X, y, ACTIVATION_LAYERS)
    assert rel_error(loss, t_loss) < 1e-12
    assert set(net.grads) == set(t_grads) == {f"{p}{l}" for l in range(1, len(sizes)) for p in "Wb"}
    for key in net.grads:
        assert _max_rel(net.grads[key], t_grads[key]) < 1e-9, key
    assert _max_rel(dX, t_dX) < 1e-9
    report = check_model(net, X, y)
    assert report.ok(1e-6), str(report)


def test_sequential_params_are_the_layers_arrays():
    d1, d2 = L.Dense(3, 4, seed=0), L.Dense(4, 2, seed=1)
    net = L.Sequential(d1, L.ReLU(), d2)
    assert list(net.params) == ["W1", "b1", "W2", "b2"] and list(net.grads) == list(net.params)
    assert net.params["W2"] is d2.params["W"] and net.grads["b1"] is d1.grads["b"]
    net.params["W1"] += 1.0                                            # in place: the layer sees it
    np.testing.assert_array_equal(d1.params["W"], net.params["W1"])
    net.forward(np.ones((2, 3)))
    net.backward(np.ones((2, 2)))
    assert net.grads["W1"] is d1.grads["W"] and np.any(d1.grads["W"] != 0)
    assert net.eval() is net and not any(layer.training for layer in net.layers)
    assert net.train() is net and all(layer.training for layer in net.layers)


def test_input_grad_false_skips_dx_but_keeps_parameter_grads():
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    full, first = L.Dense(4, 3, seed=1), L.Dense(4, 3, seed=1, input_grad=False)
    full.forward(x), first.forward(x)
    assert isinstance(full.backward(dy), np.ndarray)
    assert first.backward(dy) is None
    for k in ("W", "b"):
        np.testing.assert_array_equal(first.grads[k], full.grads[k])
    net = L.Sequential(first, L.ReLU())
    net.forward(x)
    assert net.backward(np.ones((5, 3))) is None


def test_float32_stays_float32():
    net = L.Sequential(L.Dense(4, 5, dtype=np.float32, input_grad=False), L.ReLU(inplace=True),
                       L.Dense(5, 3, dtype=np.float32), L.Tanh(), L.Dense(3, 2, dtype=np.float32))
    out = net.forward(np.ones((6, 4)))                                 # float64 data is converted
    assert out.dtype == np.float32
    _, delta = softmax_cross_entropy(out, np.zeros(6, dtype=int))
    net.backward(delta)
    assert all(g.dtype == np.float32 for g in net.grads.values())


def test_wrong_shapes_raise_value_errors_naming_both_shapes():
    dense = L.Dense(784, 100)
    with pytest.raises(ValueError) as err:
        dense.forward(np.zeros((32, 28, 28)))
    assert str(err.value) == "Dense(784 -> 100) expected x of shape (batch, 784), got (32, 28, 28)"
    with pytest.raises(ValueError, match=r"expected x of shape \(batch, 784\), got \(784,\)"):
        dense.forward(np.zeros(784))
    dense.forward(np.zeros((8, 784)))
    with pytest.raises(ValueError, match=r"delta of shape \(8, 100\), got \(8, 10\)"):
        dense.backward(np.zeros((8, 10)))
    relu = L.ReLU()
    relu.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"dy of shape \(2, 3\).*got \(3, 2\)"):
        relu.backward(np.zeros((3, 2)))
    net = L.Sequential(L.Dense(3, 4), L.ReLU(), L.Dense(5, 2))
    with pytest.raises(ValueError, match=r"Dense\(5 -> 2\) expected x of shape \(batch, 5\), got \(2, 4\)"):
        net.forward(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        L.Sigmoid().backward(np.zeros(3))
    with pytest.raises(ValueError, match="init"):
        L.Dense(2, 2, init="glorot")
