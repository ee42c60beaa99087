"""Trusted reference implementations of the graded parts: instructor-only.

They answer the assignments, so they never ship to students (`nnkit-course dist` leaves this
package out and the grading sandbox hides all of it); property checks live in
:mod:`nnkit.grading.verifiers`. One module per assignment; every name is also available here.

The test cells name these (``reference="nnkit.grading.references.dense_backward"``);
the grader calls them with the same arguments as the student's function.
Where nnkit's numpy core already has the function, the reference is a thin
wrapper around it; convolution, pooling and the RNN are checked against
PyTorch (imported lazily, so importing this module stays light).
Notation as in the lectures: ``s`` input signal, ``x`` output, ``delta = dL/ds``.
"""

from .perceptron import perceptron_predict, perceptron_update, train_perceptron
from .logistic_regression import gradient_descent, logistic_gradient, logistic_loss, sgd
from .activations import leaky_relu_vjp, relu_vjp, sigmoid_vjp, softmax_vjp, tanh_vjp
from .backprop import dense_backward, dense_forward, mlp_gradients, mlp_loss, softmax_ce_delta, softmax_ce_loss
from .mlp_mnist import deep_mlp_logits, l2_gradient, l2_value, mlp_logits
from .cnn_rnn import conv2d, max_pool2d, rnn_forward, rnn_step
from .transfer_learning import prepare_for_transfer

__all__ = [
    "perceptron_predict", "perceptron_update", "train_perceptron",
    "logistic_loss", "logistic_gradient", "gradient_descent", "sgd",
    "sigmoid_vjp", "tanh_vjp", "relu_vjp", "leaky_relu_vjp", "softmax_vjp",
    "dense_forward", "dense_backward", "softmax_ce_loss", "softmax_ce_delta", "mlp_loss", "mlp_gradients",
    "mlp_logits", "deep_mlp_logits", "l2_value", "l2_gradient",
    "conv2d", "max_pool2d", "rnn_step", "rnn_forward",
    "prepare_for_transfer",
]
