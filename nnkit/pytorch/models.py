"""Reference PyTorch models of the course, each small enough to train on 2 CPU cores.

Every model is split into ``features`` (everything that turns the input into a
representation) and ``head`` (the last classifier or regressor), and
``forward(x) = head(features(x))``. Transfer learning (chapter 7) keeps ``features`` and
replaces ``head``.

- :class:`MLP`: the fully connected network of chapter 5, 784-100-10 by default.
- :class:`SmallCNN`: two convolution + ReLU + max-pooling blocks and a small classifier.
- :class:`SmallRNN`: a recurrent network (plain RNN, GRU or LSTM) reading a sequence.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "MLP", "SmallCNN", "SmallRNN"]

#: Activation layers by name (the same names as the numpy core where both exist).
ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "linear": nn.Identity,
}


class MLP(nn.Module):
    """Multi-layer perceptron: ``Linear`` layers with an activation between them.

    Parameters
    ----------
    sizes : tuple of int
        Neurons per layer, input first: ``(784, 100, 10)`` is 784 inputs, one hidden
        layer of 100 neurons and 10 outputs (logits).
    activation : str
        One of :data:`ACTIVATIONS`, applied after every hidden layer.
    dropout : float
        Dropout probability after every hidden activation (0 disables it).

    Input of shape ``(batch, 784)`` or ``(batch, 1, 28, 28)`` (flattened first); output
    ``(batch, sizes[-1])``: the input signals ``s`` of the output layer, to which
    ``nn.CrossEntropyLoss`` applies the softmax.
    """

    def __init__(self, sizes=(784, 100, 10), activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        sizes = tuple(int(n) for n in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least an input and an output size, all positive; got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.sizes = sizes
        layers: list[nn.Module] = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(n_in, n_out), ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(sizes[-2], sizes[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class SmallCNN(nn.Module):
    """A small convolutional network for 28x28 grey-scale images.

    ``features`` (input ``(batch, 1, 28, 28)``)::

        Conv2d(1 -> c1, 3x3, padding 1) -> ReLU -> MaxPool 2x2    # (batch, c1, 14, 14)
        Conv2d(c1 -> c2, 3x3, padding 1) -> ReLU -> MaxPool 2x2   # (batch, c2, 7, 7)
        Flatten                                                   # (batch, c2 * 49)

    ``head``::

        Linear(c2 * 49 -> hidden) -> ReLU -> Dropout -> Linear(hidden -> n_classes)

    Each convolution is a layer of neurons that look at a 3x3 patch only and share their
    weights across all positions: ``c1`` filters of 3x3 weights, not 784 weights per neuron.
    Flat inputs ``(batch, 784)`` are reshaped to images.

    Parameters
    ----------
    n_classes : int
        Number of outputs (logits).
    channels : tuple of two ints
        Filters in the first and the second convolution.
    hidden : int
        Neurons in the hidden layer of the head.
    dropout : float
        Dropout probability before the last layer.
    """

    def __init__(self, n_classes: int = 10, channels=(16, 32), hidden: int = 64, dropout: float = 0.25):
        super().__init__()
        c1, c2 = (int(c) for c in channels)
        self.n_classes, self.channels, self.hidden, self.dropout = int(n_classes), (c1, c2), int(hidden), float(dropout)
        self.n_features = c2 * 7 * 7
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = self.make_head(self.n_classes)

    def make_head(self, n_classes: int) -> nn.Sequential:
        """A fresh, randomly initialised classifier for ``n_classes`` on top of ``features``."""
        return nn.Sequential(
            nn.Linear(self.n_features, self.hidden),
            nn.ReLU(),
            nn.Dropout(self.dropout),
            nn.Linear(self.hidden, int(n_classes)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and x.shape[1] == 28 * 28:
            x = x.view(-1, 1, 28, 28)
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"SmallCNN expected x of shape (batch, 1, 28, 28) or (batch, 784), got {tuple(x.shape)}")
        return self.head(self.features(x))


class SmallRNN(nn.Module):
    """A recurrent network: a loop that reads a sequence one step at a time.

    At every time step ``t`` the cell combines the input ``x_t`` with its own previous
    state ``h_{t-1}`` into a new state ``h_t`` (plain RNN: ``h_t = tanh(x_t W_x + h_{t-1} W_h + b)``);
    the state is the network's memory. The ``head`` (a ``Linear`` layer) reads the last
    state ``h_T``.

    Parameters
    ----------
    input_size : int
        Features per time step (1 for a scalar time series, 28 for an MNIST image read
        row by row).
    hidden_size : int
        Size of the state ``h``.
    output_size : int
        Outputs of the head (1 for predicting the next value, 10 for digit classes).
    cell : {"gru", "rnn", "lstm"}
        The recurrent cell. GRU and LSTM add gates that help keep information over many
        steps.

    Input ``(batch, time, input_size)`` (a 2-D ``(batch, time)`` input is read as
    ``input_size == 1``); output ``(batch, output_size)``.
    """

    CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}

    def __init__(self, input_size: int, hidden_size: int, output_size: int, cell: str = "gru"):
        super().__init__()
        if cell not in self.CELLS:
            raise ValueError(f"cell must be one of {sorted(self.CELLS)}, got {cell!r}")
        self.cell = cell
        self.input_size, self.hidden_size, self.output_size = int(input_size), int(hidden_size), int(output_size)
        self.features = self.CELLS[cell](self.input_size, self.hidden_size, batch_first=True)
        self.head = nn.Linear(self.hidden_size, self.output_size)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """All hidden states ``h_1 ... h_T``, shape ``(batch, time, hidden_size)``."""
        if x.dim() == 2 and self.input_size == 1:
            x = x.unsqueeze(-1)
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"SmallRNN expected x of shape (batch, time, {self.input_size}), got {tuple(x.shape)}"
            )
        out, _ = self.features(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.states(x)[:, -1])
