"""Plausible student mistakes, injected into copies of the solution notebooks.

Each mutation replaces ``old`` by ``new`` (exactly once) in the solution cell
``cell`` of an assignment; ``breaks`` names the autograded test cells that must
then score 0 — every other autograded cell must keep its full points.
tests/test_assignments.py autogrades one mutated notebook per mutation, except
that mutations sharing a ``group`` (used where a run trains networks and costs
seconds) are injected together into one notebook: each must still lose its own
parts, and the notebook nothing outside the union of their parts.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    cell: str          # grade_id of the solution cell to edit
    old: str
    new: str
    breaks: frozenset  # grade_ids of the test cells that must lose their points
    group: str = ""    # mutations of one group are graded in one notebook

    @property
    def student(self):
        return f"mut-{self.group or self.name}"


def m(name, cell, old, new, *breaks, group=""):
    return Mutation(name, cell, old, new, frozenset(breaks), group)


MUTATIONS = {
    "perceptron": [
        # sign error: moves the weights away from the misclassified sample
        m("update_sign", "predict_update", "return w + y * x", "return w - y * x", "test_predict_update"),
        # missing term: the bias w0 is dropped from the input signal
        m("predict_no_bias", "predict_update", "s = w[0] + X @ w[1:]", "s = X @ w[1:]", "test_predict_update"),
        # counts the mistakes over all epochs instead of per epoch
        m("train_cumulative", "train", "        count = 0\n", "", "test_train"),
        # the two hidden neurons get each other's bias
        m("xor_swapped_biases", "xor", "b1 = np.array([-10.0, 30.0])", "b1 = np.array([30.0, -10.0])", "test_xor"),
        # OR with the AND threshold
        m("or_threshold", "gates", "w_or = np.array([-10.0, 20.0, 20.0])", "w_or = np.array([-30.0, 20.0, 20.0])",
          "test_gates"),
    ],
    "logistic_regression": [
        # unstable formula: exp(-s) overflows at s = -1000 (numpy warns)
        m("sigmoid_naive", "sigmoid", "return np.where(s >= 0, 1 / (1 + e), e / (1 + e))",
          "return 1 / (1 + np.exp(-s))", "test_sigmoid"),
        # unstable formula: log(1 + exp(z)) overflows for large z
        m("loss_unstable", "loss", "np.logaddexp(0, -y * s)", "np.log(1 + np.exp(-y * s))", "test_loss"),
        # sign error in the gradient
        m("gradient_sign", "loss", "return -(X.T @ (y * sigmoid(-y * s))) / len(y)",
          "return (X.T @ (y * sigmoid(-y * s))) / len(y)", "test_gradient"),
        # missing term: the gradient is not averaged over the batch (sum instead of mean)
        m("gradient_sum", "loss", "return -(X.T @ (y * sigmoid(-y * s))) / len(y)",
          "return -(X.T @ (y * sigmoid(-y * s)))", "test_gradient"),
        # the learning rate is forgotten
        m("gd_no_lr", "gd", "w = w - lr * logistic_gradient(w, X, y)", "w = w - logistic_gradient(w, X, y)",
          "test_gd"),
        # no reshuffling: the samples are visited in the same order every epoch
        m("sgd_no_shuffle", "sgd", "rng.permutation(len(X))", "np.arange(len(X))", "test_sgd"),
    ],
    "activations": [
        # missing term: tanh' without the square
        m("tanh_prime_no_square", "sigmoid_tanh", "return 1 - tanh(s) ** 2", "return 1 - tanh(s)", "test_sigmoid_tanh"),
        # leaky ReLU's derivative forgets the slope alpha for s <= 0
        m("leaky_prime_no_alpha", "relu", "np.where(np.asarray(s) > 0, 1.0, alpha)",
          "np.where(np.asarray(s) > 0, 1.0, 0.0)", "test_relu"),
        # unstable formula: no max subtraction, e^1000 overflows
        m("softmax_unstable", "softmax", "z = s - s.max(axis=-1, keepdims=True)", "z = s", "test_softmax"),
        # wrong axis: normalises the columns instead of the rows
        m("softmax_axis0", "softmax", "return e / e.sum(axis=-1, keepdims=True)",
          "return e / e.sum(axis=0, keepdims=True)", "test_softmax"),
        # missing term: only the diagonal of the Jacobian
        m("softmax_backward_diagonal", "softmax_backward", "x * (dx - np.sum(dx * x, axis=-1, keepdims=True))",
          "x * dx", "test_softmax_backward"),
        # missing keepdims: the row sums broadcast along the wrong axis
        m("softmax_backward_no_keepdims", "softmax_backward", "np.sum(dx * x, axis=-1, keepdims=True)",
          "np.sum(dx * x, axis=-1)", "test_softmax_backward"),
    ],
    "backprop": [
        # missing term: the bias is forgotten
        m("forward_no_bias", "dense_forward", "return x @ W + b", "return x @ W", "test_dense_forward"),
        # missing transpose: dW has the shape of W transposed
        m("dW_transposed", "dense_backward", "dW = x.T @ delta", "dW = delta.T @ x", "test_dense_backward"),
        # wrong axis: db summed over the units instead of the samples
        m("db_wrong_axis", "dense_backward", "db = delta.sum(axis=0)", "db = delta.sum(axis=1)",
          "test_dense_backward"),
        # unstable formula: log of the softmax is -inf for logits in the thousands
        m("ce_log_of_softmax", "softmax_ce", "log_x = log_softmax(s)", "log_x = np.log(softmax(s))",
          "test_softmax_ce"),
        # missing term: delta^L not divided by N
        m("ce_delta_no_mean", "softmax_ce", "return loss, delta / n", "return loss, delta", "test_softmax_ce"),
        # missing term: the derivative of the hidden activation is left out of delta^1
        m("mlp_no_sigmoid_prime", "mlp", "delta1 = dx1 * sigmoid_prime(s1)", "delta1 = dx1", "test_mlp"),
    ],
    "mlp_mnist": [
        # sign error: gradient ascent, the network diverges
        m("numpy_update_sign", "numpy_mlp", "w -= lr * net.grads[key]", "w += lr * net.grads[key]",
          "test_numpy_mlp", group="numpy-and-module"),
        # missing term: the 1/N of the penalty is lost in the gradient
        m("l2_gradient_no_n", "l2", "return lam / n * W", "return lam * W", "test_l2", group="l2-and-training"),
        # missing term: no hidden activation, the network collapses to a linear model
        m("torch_no_relu", "torch_module", "return self.output(torch.relu(self.hidden(x)))",
          "return self.output(self.hidden(x))", "test_torch_module", group="numpy-and-module"),
        # missing step: the parameters never change
        m("torch_no_step", "torch_train", "            optimizer.step()\n", "", "test_torch_train", group="l2-and-training"),
    ],
    "cnn_rnn": [
        # true convolution (flipped kernel) instead of the cross-correlation torch computes
        m("conv_flipped_kernel", "conv", "np.sum(patch * w[f])", "np.sum(patch * w[f, :, ::-1, ::-1])", "test_conv"),
        # stride ignored when indexing (the output size is still right): only hidden cases have stride 2
        m("conv_stride_ignored", "conv", "patch = x_pad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]",
          "patch = x_pad[n, :, i:i + kh, j:j + kw]", "test_conv"),
        # padding forgotten
        m("conv_no_padding", "conv", "x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))",
          "x_pad = x", "test_conv"),
        # average instead of max pooling
        m("pool_mean", "pool", "window.max(axis=(2, 3))", "window.mean(axis=(2, 3))", "test_pool"),
        # missing term: the recurrent bias
        m("rnn_no_b_hh", "rnn_step", "h @ W_hh.T + b_hh", "h @ W_hh.T", "test_rnn_step"),
        # the state is not carried: every step starts again from h0
        m("rnn_state_not_carried", "rnn_forward", "h = rnn_step(x, h, W_ih, W_hh, b_ih, b_hh)",
          "h = rnn_step(x, h0, W_ih, W_hh, b_ih, b_hh)", "test_rnn_forward"),
    ],
    "transfer_learning": [
        # the features are not frozen
        m("not_frozen", "prepare", "        p.requires_grad = False\n", "        pass\n", "test_prepare",
          group="prepare-and-training"),
        # the pretrained head is kept instead of a new one
        m("head_kept", "prepare", "    model.head = nn.Linear(model.n_features, n_classes)\n", "", "test_prepare"),
        # missing step: nothing is trained, neither the transfer nor the scratch network
        m("no_step", "fine_tune", "            optimizer.step()\n", "", "test_fine_tune",
          group="prepare-and-training"),
    ],
}
