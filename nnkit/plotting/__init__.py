"""Plotting functions used by the book's figures (matplotlib; each returns what it drew on).

One module per topic; every public name is also available here (``nnkit.plotting.plot_data``):

- :mod:`~nnkit.plotting.boundaries`: 2-D data and the decision boundaries of classifiers;
- :mod:`~nnkit.plotting.functions`: activation functions and their derivatives, truth tables;
- :mod:`~nnkit.plotting.training`: training curves, loss contours with optimisation paths,
  gradient magnitudes per layer;
- :mod:`~nnkit.plotting.networks`: a network's neurons and weights, computational graphs,
  backpropagation layer by layer, histograms per layer;
- :mod:`~nnkit.plotting.images`: images, first-layer weights as images, confusion matrices;
- :mod:`~nnkit.plotting.convnets`: convolution filters and feature maps;
- :mod:`~nnkit.plotting.sequences`: a time series and a recurrent network's predictions;
- :mod:`~nnkit.plotting.transfer`: accuracy against labels per class in transfer learning.

Each module adds one import line here. None of them imports torch.
"""

from ._axes import CLASS_COLORS
from .boundaries import plot_data, plot_decision_boundary, plot_linear_boundary
from .convnets import plot_feature_maps, plot_filters
from .functions import plot_activations, plot_truth_table
from .images import confusion_matrix, plot_confusion_matrix, plot_image_grid, plot_misclassified, plot_weight_images
from .networks import plot_backprop_layers, plot_computational_graph, plot_layer_histograms, plot_network
from .sequences import plot_sequence_prediction
from .training import plot_curves, plot_gradient_norms, plot_history, plot_loss_contours
from .transfer import plot_transfer_curve
