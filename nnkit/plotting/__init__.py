"""Plotting functions used by the book's figures (matplotlib; each returns what it drew on).

Each helper re-exports its own submodule's functions here, one import line per submodule.
"""

from .basic import (  # chapters 1-3
    CLASS_COLORS,
    plot_activations,
    plot_curves,
    plot_data,
    plot_decision_boundary,
    plot_gradient_norms,
    plot_history,
    plot_linear_boundary,
    plot_loss_contours,
    plot_network,
    plot_truth_table,
)
from .diagrams import plot_backprop_layers, plot_computational_graph, plot_layer_histograms  # chapters 3-5 (issue 16)
from .images import confusion_matrix, plot_confusion_matrix, plot_image_grid, plot_misclassified, plot_weight_images  # chapter 5 (book2)
from .beyond_mlp import plot_feature_maps, plot_filters, plot_sequence_prediction, plot_transfer_curve  # chapters 6-7 (book3)
