"""nnkit.plotting.convnets: a CNN's filters and feature maps (the plots of the CNN chapter)."""
import numpy as np
import pytest
import torch

from nnkit.plotting import plot_feature_maps, plot_filters


def test_filters_and_feature_maps_draw_what_they_are_given():
    fig = plot_filters(torch.randn(8, 1, 3, 3))
    assert len([a for a in fig.axes if a.get_visible()]) == 8
    fig = plot_feature_maps(np.random.rand(4, 14, 14), image=np.random.rand(784))
    visible = [a for a in fig.axes if a.get_visible()]
    assert len(visible) == 5 and visible[0].images[0].get_array().shape == (28, 28)
    with pytest.raises(ValueError, match=r"expected filters of shape"):
        plot_filters(np.zeros((3, 3)))
