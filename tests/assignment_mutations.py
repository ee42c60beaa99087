"""Plausible student mistakes, injected into copies of the solution notebooks.

Each mutation replaces ``old`` by ``new`` (exactly once) in the solution cell
``cell`` of an assignment; ``breaks`` names the autograded test cells that must
then score 0 — every other autograded cell must keep its full points — and
``says`` the words the failure message of each broken cell must contain (what a
student needs to find the mistake).  tests/test_assignments.py autogrades one
mutated notebook per mutation, except that mutations sharing a ``group`` (used
where a run trains networks and costs seconds, or where a mistake needs edits in
two cells) are injected together into one notebook: each must still lose its own
parts, and the notebook nothing outside the union of their parts.

The classes of mistakes covered (issue 13): sign errors, missing terms, wrong
axes and transposes, unstable formulas, inputs changed in place, wrong values at
kinks and special inputs, bugs that only show when parts work together, training
loops that do not train; and, with ``breaks`` empty, following a hint of the
notebook literally (which must keep full marks).
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
    says: tuple = ()   # words the failure message of each broken cell must contain

    @property
    def student(self):
        return f"mut-{self.group or self.name}"


def m(name, cell, old, new, *breaks, group="", says=()):
    return Mutation(name, cell, old, new, frozenset(breaks), group, tuple(says))


MUTATIONS = {
    "perceptron": [
        # sign error: moves the weights away from the misclassified sample
        m("update_sign", "predict_update", "return w + y * x", "return w - y * x", "test_predict_update",
          says=("update: relative error", "yours", "expected")),
        # missing term: the bias w0 is dropped from the input signal
        m("predict_no_bias", "predict_update", "s = w[0] + X @ w[1:]", "s = X @ w[1:]", "test_predict_update",
          says=("predict: relative error",)),
        # kink: sign(0) = -1 instead of the chapter's +1 (the visible case with w = [0, 0, 0])
        m("predict_sign_of_zero", "predict_update", "np.where(s >= 0, 1.0, -1.0)", "np.where(s > 0, 1.0, -1.0)",
          "test_predict_update", says=("predict", "w = [0, 0, 0]", "yours -1, expected 1")),
        # side effect: the caller's weights are updated in place
        m("update_in_place", "predict_update", "return w + y * x", "w += y * x\n        return w", "test_predict_update",
          says=("update: changed its input w in place", "not w -= ...")),
        # counts the mistakes over all epochs instead of per epoch
        m("train_cumulative", "train", "    for epoch in range(max_epochs):\n        count = 0\n",
          "    count = 0\n    for epoch in range(max_epochs):\n", "test_train", says=("mistakes: expected shape",)),
        # composition only: predict is right on (N, d) inputs but the loop calls it on one sample (d,)
        m("predict_needs_2d", "predict_update", "return np.where(s >= 0, 1.0, -1.0)",
          "return np.where(s >= 0, 1.0, -1.0).reshape(len(X))", group="composition"),
        m("train_counts_with_predict", "train", "count += int(np.any(w_new != w))",
          "count += int(np.any(predict(w, x_n) != y_n))", "test_train", group="composition",
          says=("train_with_your_update: your code raised ValueError",)),
        # the two hidden neurons get each other's bias
        m("xor_swapped_biases", "xor", "b1 = np.array([-10.0, 30.0])", "b1 = np.array([30.0, -10.0])", "test_xor",
          says=("XOR is wrong for",)),
        # OR with the AND threshold
        m("or_threshold", "gates", "w_or = np.array([-10.0, 20.0, 20.0])", "w_or = np.array([-30.0, 20.0, 20.0])",
          "test_gates", says=("OR is wrong for 01 -> 0 (want 1)",)),
    ],
    "logistic_regression": [
        # unstable formula: exp(-s) overflows at s = -1000 (numpy warns)
        m("sigmoid_naive", "sigmoid", "return np.where(s >= 0, 1 / (1 + e), e / (1 + e))",
          "return 1 / (1 + np.exp(-s))", "test_sigmoid", says=("numpy warned 'overflow", "cannot overflow")),
        # the old hint taken literally, 1 - sigma(-s) for s < 0: loses the relative accuracy of tiny values
        m("sigmoid_one_minus", "sigmoid", "return np.where(s >= 0, 1 / (1 + e), e / (1 + e))",
          "return np.where(s >= 0, 1 / (1 + e), 1 - 1 / (1 + e))", "test_sigmoid",
          says=("sigmoid: relative error 8.1e-09 at [1], tolerance 1e-09", "-19.5")),
        # side effect: the caller's s is clipped in place (the values stay right)
        m("sigmoid_clips_in_place", "sigmoid", "e = np.exp(-np.abs(s))", "np.clip(s, -500, 500, out=s)\n    e = np.exp(-np.abs(s))",
          "test_sigmoid", says=("changed its input s in place", "s[0] was -1000, is now -500")),
        # following the hint of part 1 literally keeps full marks
        m("sigmoid_hint_literal", "sigmoid", "return np.where(s >= 0, 1 / (1 + e), e / (1 + e))",
          "return np.where(s >= 0, 1 / (1 + np.exp(-np.abs(s))), np.exp(-np.abs(s)) / (1 + np.exp(-np.abs(s))))"),
        # unstable formula: log(1 + exp(z)) overflows for large z
        m("loss_unstable", "loss", "np.logaddexp(0, -y * s)", "np.log(1 + np.exp(-y * s))", "test_loss",
          says=("logistic_loss", "inf")),
        # sign error in the gradient
        m("gradient_sign", "loss", "return -(X.T @ (y * sigmoid(-y * s))) / len(y)",
          "return (X.T @ (y * sigmoid(-y * s))) / len(y)", "test_gradient", says=("dw: relative error", "numerical")),
        # missing term: the gradient is not averaged over the batch (sum instead of mean)
        m("gradient_sum", "loss", "return -(X.T @ (y * sigmoid(-y * s))) / len(y)",
          "return -(X.T @ (y * sigmoid(-y * s)))", "test_gradient", says=("dw: relative error",)),
        # the learning rate is forgotten
        m("gd_no_lr", "gd", "w = w - lr * logistic_gradient(w, X, y)", "w = w - logistic_gradient(w, X, y)",
          "test_gd", says=("relative error",)),
        # no reshuffling: the samples are visited in the same order every epoch
        m("sgd_no_shuffle", "sgd", "rng.permutation(len(X))", "np.arange(len(X))", "test_sgd", says=("relative error",)),
    ],
    "activations": [
        # missing term: tanh' without the square
        m("tanh_prime_no_square", "sigmoid_tanh", "return 1 - tanh(s) ** 2", "return 1 - tanh(s)", "test_sigmoid_tanh",
          says=("tanh_prime: relative error",)),
        # the old hint taken literally, 1 - sigma(-s) for s < 0
        m("sigmoid_one_minus", "sigmoid_tanh", "return np.where(s >= 0, 1 / (1 + e), e / (1 + e))",
          "return np.where(s >= 0, 1 / (1 + e), 1 - 1 / (1 + e))", "test_sigmoid_tanh",
          says=("sigmoid: relative error", "-19.5")),
        # following the hints of part 1 literally (sigmoid with e^{-|s|}; tanh by np.tanh, which is allowed)
        m("hints_literal", "sigmoid_tanh", "return 2 * sigmoid(2 * np.asarray(s, dtype=float)) - 1", "return np.tanh(s)"),
        # kink: ReLU'(0) = 1 instead of the chapter's 0 (central differences see 0.5 there)
        m("relu_prime_at_zero", "relu", "(np.asarray(s) > 0).astype(float)", "(np.asarray(s) >= 0).astype(float)",
          "test_relu", says=("relu_prime: relative error", "yours 1, expected 0", "s = [-2, -0, 0, 0, 1e-12, 3]")),
        # kink: leaky ReLU'(0) = 1 instead of alpha
        m("leaky_prime_at_zero", "relu", "np.where(np.asarray(s) > 0, 1.0, alpha)", "np.where(np.asarray(s) >= 0, 1.0, alpha)",
          "test_relu", says=("leaky_relu_prime", "alpha = 0.1")),
        # leaky ReLU's derivative forgets the slope alpha for s <= 0
        m("leaky_prime_no_alpha", "relu", "np.where(np.asarray(s) > 0, 1.0, alpha)",
          "np.where(np.asarray(s) > 0, 1.0, 0.0)", "test_relu", says=("leaky_relu_prime",)),
        # unstable formula: no max subtraction, e^1000 overflows
        m("softmax_unstable", "softmax", "z = s - s.max(axis=-1, keepdims=True)", "z = s", "test_softmax",
          says=("softmax",)),
        # wrong axis: normalises the columns instead of the rows
        m("softmax_axis0", "softmax", "return e / e.sum(axis=-1, keepdims=True)",
          "return e / e.sum(axis=0, keepdims=True)", "test_softmax", says=("sum to 1 along axis 0", "axis=-1")),
        # wrong axis: subtracts each column's maximum; told about the axis, not about stability
        m("softmax_max_of_columns", "softmax", "z = s - s.max(axis=-1, keepdims=True)", "z = s - s.max(axis=0, keepdims=True)",
          "test_softmax", says=("each of your rows sums to 1", "axis=-1")),
        # side effect: the logits are shifted in place
        m("softmax_in_place", "softmax", "s = np.asarray(s, dtype=float)\n    z = s - s.max(axis=-1, keepdims=True)",
          "s -= s.max(axis=-1, keepdims=True)\n    z = s", "test_softmax", says=("changed its input s in place",)),
        # missing term: only the diagonal of the Jacobian
        m("softmax_backward_diagonal", "softmax_backward", "x * (dx - np.sum(dx * x, axis=-1, keepdims=True))",
          "x * dx", "test_softmax_backward", says=("relative error", "numerical")),
        # missing keepdims: the row sums broadcast along the wrong axis
        m("softmax_backward_no_keepdims", "softmax_backward", "np.sum(dx * x, axis=-1, keepdims=True)",
          "np.sum(dx * x, axis=-1)", "test_softmax_backward", says=("softmax_backward",)),
    ],
    "backprop": [
        # missing term: the bias is forgotten
        m("forward_no_bias", "dense_forward", "return x @ W + b", "return x @ W", "test_dense_forward",
          says=("dense_forward: relative error",)),
        # missing transpose: dW has the shape of W transposed
        m("dW_transposed", "dense_backward", "dW = x.T @ delta", "dW = delta.T @ x", "test_dense_backward",
          says=("dW: expected shape", "a missing transpose?")),
        # wrong axis: db summed over the units instead of the samples
        m("db_wrong_axis", "dense_backward", "db = delta.sum(axis=0)", "db = delta.sum(axis=1)",
          "test_dense_backward", says=("db: expected shape",)),
        # keepdims: db is (1, n_out), not (n_out,)
        m("db_keepdims", "dense_backward", "db = delta.sum(axis=0)", "db = delta.sum(axis=0, keepdims=True)",
          "test_dense_backward", says=("db: expected shape (2,), got (1, 2)",)),
        # unstable formula: log of the softmax is -inf for logits in the thousands
        m("ce_log_of_softmax", "softmax_ce", "log_x = log_softmax(s)", "log_x = np.log(softmax(s))",
          "test_softmax_ce", says=("loss",)),
        # missing term: delta^L not divided by N
        m("ce_delta_no_mean", "softmax_ce", "return loss, delta / n", "return loss, delta", "test_softmax_ce",
          says=("delta: relative error",)),
        # side effect: the logits are shifted in place for stability
        m("ce_shifts_in_place", "softmax_ce", "    n = s.shape[0]\n", "    n = s.shape[0]\n    s -= s.max(axis=1, keepdims=True)\n",
          "test_softmax_ce", says=("changed its input s in place",)),
        # missing term: the derivative of the hidden activation is left out of delta^1
        m("mlp_no_sigmoid_prime", "mlp", "delta1 = dx1 * sigmoid_prime(s1)", "delta1 = dx1", "test_mlp",
          says=("dW1: relative error",)),
    ],
    "mlp_mnist": [
        # sign error: gradient ascent, the network diverges
        m("numpy_update_sign", "numpy_mlp", "w -= lr * net.grads[key]", "w += lr * net.grads[key]",
          "test_numpy_mlp", group="numpy-and-module", says=("is below the required 0.88", "NaN")),
        # missing term: the 1/N of the penalty is lost in the gradient
        m("l2_gradient_no_n", "l2", "return lam / n * W", "return lam * W", "test_l2", group="l2-and-training",
          says=("dW: relative error", "numerical")),
        # missing term: no hidden activation, the network collapses to a linear model
        m("torch_no_relu", "torch_module", "x = torch.relu(self.hidden2(x))",
          "x = self.hidden2(x)", "test_torch_module", group="numpy-and-module",
          says=("torch_mlp: relative error",)),
        # missing step: the parameters never change
        m("torch_no_step", "torch_train", "            optimizer.step()\n", "", "test_torch_train", group="l2-and-training",
          says=("is below the required 0.88", "no weight changed during training")),
        # the update rebinds a local name: the network's weights never change
        m("numpy_update_rebinds", "numpy_mlp", "w -= lr * net.grads[key]", "w = w - lr * net.grads[key]",
          "test_numpy_mlp", group="rebind-and-l2", says=("no weight changed during training",)),
        # side effect: the gradient scales the caller's weights in place
        m("l2_gradient_in_place", "l2", "return lam / n * W", "W *= lam / n\n    return W", "test_l2",
          group="rebind-and-l2", says=("changed its input W in place",)),
        # composition only: the module converts its input to float64, right for part 3's float64 test,
        # but train_torch feeds float32 images to a float32 module
        m("torch_module_casts_input", "torch_module", "x = torch.relu(self.hidden1(x))",
          "x = torch.relu(self.hidden1(x.double()))", "test_torch_train",
          says=("torch_mlp_accuracy_with_your_module: your code raised RuntimeError",)),
    ],
    "cnn_rnn": [
        # true convolution (flipped kernel) instead of the cross-correlation torch computes
        m("conv_flipped_kernel", "conv", "np.sum(patch * w[f])", "np.sum(patch * w[f, :, ::-1, ::-1])", "test_conv",
          says=("conv2d: relative error",)),
        # stride ignored when indexing (the output size is still right)
        m("conv_stride_ignored", "conv", "patch = x_pad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]",
          "patch = x_pad[n, :, i:i + kh, j:j + kw]", "test_conv", says=("stride = 2",)),
        # padding forgotten
        m("conv_no_padding", "conv", "x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))",
          "x_pad = x", "test_conv", says=("conv2d: your code raised ValueError",)),
        # average instead of max pooling
        m("pool_mean", "pool", "window.max(axis=(2, 3))", "window.mean(axis=(2, 3))", "test_pool",
          says=("max_pool2d: relative error",)),
        # missing term: the recurrent bias
        m("rnn_no_b_hh", "rnn_step", "h @ W_hh.T + b_hh", "h @ W_hh.T", "test_rnn_step", says=("rnn_step: relative error",)),
        # the state is not carried: every step starts again from h0
        m("rnn_state_not_carried", "rnn_forward", "h = rnn_step(x, h, W_ih, W_hh, b_ih, b_hh)",
          "h = rnn_step(x, h0, W_ih, W_hh, b_ih, b_hh)", "test_rnn_forward", says=("states: relative error",)),
        # side effect: the state is updated in the caller's h0
        m("rnn_state_in_h0", "rnn_forward", "h = rnn_step(x, h, W_ih, W_hh, b_ih, b_hh)\n        states.append(h)",
          "h[:] = rnn_step(x, h, W_ih, W_hh, b_ih, b_hh)\n        states.append(h.copy())", "test_rnn_forward",
          says=("changed its input h0 in place",)),
    ],
    "transfer_learning": [
        # the features are not frozen
        m("not_frozen", "prepare", "        p.requires_grad = False\n", "        pass\n", "test_prepare",
          group="prepare-and-training", says=("still require gradients",)),
        # the pretrained head is kept instead of a new one
        m("head_kept", "prepare", "    model.head = nn.Linear(model.n_features, n_classes)\n", "", "test_prepare",
          says=("expected the head to be one nn.Linear",)),
        # the number of classes is hard-coded (the hidden case asks for 4)
        m("head_ten_classes", "prepare", "nn.Linear(model.n_features, n_classes)", "nn.Linear(model.n_features, 10)",
          "test_prepare", says=("nn.Linear(1568, 4)",)),
        # missing step: nothing is trained
        m("no_step", "train_head", "            optimizer.step()\n", "", "test_train_head",
          group="prepare-and-training", says=("after transfer", "no weight changed during training")),
        # the features are re-initialised (a fresh network's) instead of keeping the pretrained ones
        m("features_reinitialised", "prepare", "    for p in model.features.parameters():",
          "    model.features = type(model)().features\n    for p in model.features.parameters():", "test_prepare",
          says=("no longer holds the pretrained weights",)),
    ],
}
