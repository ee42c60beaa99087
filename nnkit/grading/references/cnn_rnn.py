"""Trusted references for the ``cnn_rnn`` assignment: convolution, max-pooling and the RNN, computed
by PyTorch (imported lazily, so importing this module stays light).

Instructor-only, like the whole :mod:`nnkit.grading.references` package.
"""
import numpy as np


def _t(a):
    import torch

    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def conv2d(x, w, b, stride, padding):
    """x (N, C, H, W), w (F, C, kh, kw), b (F,) -> (N, F, H', W') (cross-correlation, like torch)."""
    import torch.nn.functional as F

    return F.conv2d(_t(x), _t(w), _t(b), stride=int(stride), padding=int(padding)).numpy()


def max_pool2d(x, size, stride):
    import torch.nn.functional as F

    return F.max_pool2d(_t(x), int(size), int(stride)).numpy()


def _torch_rnn(W_ih, W_hh, b_ih, b_hh):
    import torch

    rnn = torch.nn.RNN(W_ih.shape[1], W_ih.shape[0], nonlinearity="tanh").double()
    with torch.no_grad():
        for name, value in zip(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"],
                               [W_ih, W_hh, b_ih, b_hh]):
            getattr(rnn, name).copy_(_t(value))
    return rnn


def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh); x (N, D), h (N, H)."""
    import torch

    with torch.no_grad():
        _, h_new = _torch_rnn(W_ih, W_hh, b_ih, b_hh)(_t(x)[None], _t(h)[None])
    return h_new[0].numpy()


def rnn_forward(xs, h0, W_ih, W_hh, b_ih, b_hh):
    """xs (T, N, D), h0 (N, H) -> (all hidden states (T, N, H), last state (N, H))."""
    import torch

    with torch.no_grad():
        out, h_last = _torch_rnn(W_ih, W_hh, b_ih, b_hh)(_t(xs), _t(h0)[None])
    return out.numpy(), h_last[0].numpy()
