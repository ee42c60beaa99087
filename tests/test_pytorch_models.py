"""nnkit.pytorch.models: shapes, parameter counts, the features/head split, memory of the RNN."""

import numpy as np
import pytest
import torch
from torch import nn

from nnkit.pytorch.models import MLP, SmallCNN, SmallRNN
from nnkit.pytorch.training import count_parameters, fit, make_loader, seed_everything


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_mlp_default_is_784_100_10():
    model = MLP()
    assert count_parameters(model) == 784 * 100 + 100 + 100 * 10 + 10
    assert model(torch.zeros(5, 784)).shape == (5, 10)
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)  # images are flattened
    assert model.features(torch.zeros(5, 784)).shape == (5, 100)
    assert isinstance(model.head, nn.Linear) and model.head.out_features == 10


def test_mlp_sizes_activation_and_dropout():
    model = MLP((10, 7, 5, 3), activation="tanh", dropout=0.5)
    assert count_parameters(model) == 10 * 7 + 7 + 7 * 5 + 5 + 5 * 3 + 3
    kinds = [type(m) for m in model.features]
    assert kinds.count(nn.Tanh) == 2 and kinds.count(nn.Dropout) == 2
    model.eval()
    x = torch.randn(4, 10)
    assert torch.equal(model(x), model(x))  # dropout off in eval mode
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(activation="swish")
    with pytest.raises(ValueError, match="sizes"):
        MLP((784,))


def test_small_cnn_shapes_and_parameter_count():
    model = SmallCNN()
    c1, c2, hidden = 16, 32, 64
    expected = (1 * c1 * 9 + c1) + (c1 * c2 * 9 + c2) + (c2 * 49 * hidden + hidden) + (hidden * 10 + 10)
    assert count_parameters(model) == expected
    assert count_parameters(model) * 4 < 1_000_000 / 2  # float32 weights well under 1 MB
    x = torch.rand(3, 1, 28, 28)
    assert model.features(x).shape == (3, model.n_features) == (3, c2 * 7 * 7)
    assert model(x).shape == (3, 10)
    model.eval()
    torch.testing.assert_close(model(x.view(3, 784)), model(x))  # flat input accepted
    with pytest.raises(ValueError, match=r"expected x of shape \(batch, 1, 28, 28\) or \(batch, 784\), got \(3, 28, 28\)"):
        model(torch.rand(3, 28, 28))


def test_small_cnn_head_can_be_replaced():
    model = SmallCNN(channels=(4, 8), hidden=16)
    model.head = model.make_head(3)
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 3)
    assert model.features(torch.rand(2, 784).view(2, 1, 28, 28)).shape == (2, 8 * 49)


@pytest.mark.parametrize("cell, gates", [("rnn", 1), ("gru", 3), ("lstm", 4)])
def test_small_rnn_shapes_and_parameter_count(cell, gates):
    model = SmallRNN(input_size=3, hidden_size=5, output_size=2, cell=cell)
    per_gate = 5 * 3 + 5 * 5 + 5 + 5  # input weights, recurrent weights, two biases (torch's layout)
    assert count_parameters(model) == gates * per_gate + 5 * 2 + 2
    x = torch.randn(4, 7, 3)  # (batch, time, features)
    assert model.states(x).shape == (4, 7, 5)
    assert model(x).shape == (4, 2)
    scalar = SmallRNN(1, 4, 1, cell=cell)
    assert scalar(torch.randn(4, 9)).shape == (4, 1)  # (batch, time) read as one feature per step
    with pytest.raises(ValueError, match=r"expected x of shape \(batch, time, 3\)"):
        model(torch.randn(4, 7, 2))


def test_small_rnn_rejects_unknown_cell():
    with pytest.raises(ValueError, match="cell must be one of"):
        SmallRNN(1, 4, 1, cell="transformer")


def test_gru_remembers_the_first_step():
    """The loop carries information: after 8 more noisy steps, recall the sign of the first input."""
    seed_everything(0)
    rng = np.random.default_rng(0)
    X = rng.normal(scale=0.5, size=(512, 9, 1)).astype(np.float32)
    y = (X[:, 0, 0] > 0).astype(np.int64)
    model = SmallRNN(1, 16, 2, cell="gru")
    hist = fit(model, make_loader(X, y, 32, seed=0), epochs=12, lr=0.02, device="cpu", progress=False)
    assert hist["accuracy"][-1] > 0.9
