"""Answers that hand a graded part to nnkit's own implementation: right outputs, no credit.

Each cheat renames the student's function (``def f(`` -> ``def _own_f(``) and puts before it a
version that calls nnkit, spelled in a different way per assignment. Only the cheating part may
lose its points (nnkit.grading.policy), under plain ``nbgrader autograde`` (tests/test_assignments.py
grades them with the planted mistakes) as under ``nnkit-course autograde``.
"""
from assignment_mutations import m


def cheat(name, cell, defline, code, *breaks):
    own = defline.replace("def ", "def _own_", 1).replace("class ", "class _Own", 1)
    return m(f"cheat_{name}", cell, defline, code.rstrip() + "\n\n\n" + own, *breaks,
             says=("nnkit's own implementation", "scores 0"))


CHEATS = {
    "perceptron": [
        cheat("predict_from_activations", "predict_update", "def predict(w, X):",
              "from nnkit.activations import sign as _sign\n\n\ndef predict(w, X):\n"
              "    return _sign(w[0] + X @ w[1:])", "test_predict_update"),
    ],
    "logistic_regression": [
        cheat("sigmoid_module_alias", "sigmoid", "def sigmoid(s):",
              "import nnkit as nk\nsigmoid = nk.activations.sigmoid", "test_sigmoid"),
    ],
    "activations": [
        cheat("softmax_name_alias", "softmax", "def softmax(s):",
              "from nnkit.activations import softmax as sm\n\n\ndef softmax(s):\n    return sm(s)",
              "test_softmax"),
    ],
    "backprop": [
        cheat("dense_backward_getattr", "dense_backward", "def dense_backward(",
              "import nnkit\n\n\ndef dense_backward(delta, x, W):\n"
              "    layer = getattr(nnkit.layers, 'Dense')(W.shape[0], W.shape[1])\n"
              "    layer.params['W'][...] = W\n    layer.forward(x)\n    dx = layer.backward(delta)\n"
              "    return dx, layer.grads['W'].copy(), layer.grads['b'].copy()", "test_dense_backward"),
    ],
    "mlp_mnist": [
        cheat("torch_module_subclass", "torch_module", "class TorchMLP(",
              "from nnkit.pytorch.models import MLP as _MLP\n\n\nclass TorchMLP(_MLP):\n"
              "    def __init__(self):\n        super().__init__((784, 128, 64, 10))", "test_torch_module"),
    ],
    "cnn_rnn": [
        cheat("rnn_step_references", "rnn_step", "def rnn_step(",
              "def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):\n    from nnkit.grading import references as R\n"
              "    return R.rnn_step(x, h, W_ih, W_hh, b_ih, b_hh)", "test_rnn_step"),
    ],
    "transfer_learning": [
        cheat("prepare_references", "prepare", "def prepare_for_transfer(",
              "try:\n    from nnkit.grading.references import prepare_for_transfer\nexcept ImportError:\n"
              "    pass", "test_prepare"),
    ],
}
