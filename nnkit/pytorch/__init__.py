"""The PyTorch side of the course (chapters 5-7): models, the training loop, transfer learning.

Everything in nnkit that imports torch lives here (and in :mod:`nnkit.pretrained`, which loads
weights into these models); ``import nnkit`` never imports this subpackage. It is called
``pytorch``, not ``torch``, so that ``from nnkit import pytorch`` can never shadow the real
``torch`` in a notebook.

- :mod:`nnkit.pytorch.models`: :class:`MLP`, :class:`SmallCNN`, :class:`SmallRNN`, each split
  into ``features`` and ``head``;
- :mod:`nnkit.pytorch.training`: device choice, seeding, data loaders, the training loop
  :func:`fit`, :func:`evaluate`, :func:`predict`;
- :mod:`nnkit.pytorch.transfer`: the few-label transfer-learning experiment of chapter 7.

Their public names are also available here: ``from nnkit.pytorch import SmallCNN, fit``.
"""

from .models import ACTIVATIONS, MLP, SmallCNN, SmallRNN
from .training import as_tensor, count_parameters, evaluate, fit, get_device, make_loader, predict, seed_everything
from .transfer import METHODS, TransferResult, extract_features, few_label_indices, transfer_experiment

__all__ = [
    "ACTIVATIONS", "MLP", "SmallCNN", "SmallRNN",
    "get_device", "seed_everything", "as_tensor", "make_loader", "fit", "evaluate", "predict", "count_parameters",
    "METHODS", "TransferResult", "few_label_indices", "extract_features", "transfer_experiment",
]
