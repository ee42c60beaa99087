"""nnkit.widgets.convolution: conv2d and max-pooling against torch, and the convolution explorer
(live UI, static figure and animation, argument checks)."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from nnkit.widgets import convolution_explorer
from nnkit.widgets.convolution import KERNELS, conv2d, max_pool

RNG = np.random.default_rng(0)
IMAGES = RNG.random((3, 28, 28))


def test_conv2d_matches_torch_conv2d():
    kernel = RNG.normal(size=(3, 3))
    ours = conv2d(IMAGES[0], kernel, padding=1, bias=0.5)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1).double()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(kernel)[None, None])
        conv.bias.fill_(0.5)
        theirs = conv(torch.from_numpy(IMAGES[0])[None, None])[0, 0].numpy()
    assert ours.shape == (28, 28)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert conv2d(IMAGES[0], kernel, padding=0).shape == (26, 26)


def test_max_pool_takes_the_largest_of_each_block():
    x = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(max_pool(x), [[5, 7], [13, 15]])
    assert max_pool(np.zeros((28, 28))).shape == (14, 14)


def test_live_ui_constructs_and_updates():
    w = convolution_explorer(IMAGES, kernel="identity")
    ui = w.build_ui()
    assert ui is not None and w.output is not None and len(w.output.outputs) == 1
    np.testing.assert_allclose(w.state["feature_map"], IMAGES[0])  # identity kernel copies the image
    first_png = w.output.outputs[0]["data"]["image/png"]

    w.controls["preset"].value = "outline"  # a preset moves the nine weight boxes
    assert w.controls["w11"].value == 8 and w.controls["w00"].value == -1
    np.testing.assert_allclose(w.state["feature_map"], conv2d(IMAGES[0], KERNELS["outline"]))
    assert w.output.outputs[0]["data"]["image/png"] != first_png

    w.controls["w00"].value = 3.0  # typing a weight makes the kernel custom
    assert w.controls["preset"].value == "custom" and w.values["preset"] == "custom"
    assert w.state["kernel"][0, 0] == 3.0 and w.state["kernel"][1, 1] == 8

    w.controls["index"].value = 2
    expected = conv2d(IMAGES[2], w.kernel())
    np.testing.assert_allclose(w.state["feature_map"], expected)
    np.testing.assert_allclose(w.state["pooled"], max_pool(np.maximum(expected, 0)))
    w.controls["relu"].value = False
    np.testing.assert_allclose(w.state["pooled"], max_pool(expected))


def test_static_figure_at_the_chosen_settings():
    w = convolution_explorer(IMAGES, kernel=[[0, 0, 0], [0, 2, 0], [0, 0, 0]], index=1)
    fig = w.static_figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    np.testing.assert_allclose(w.state["feature_map"], 2 * IMAGES[1])


def test_static_display_shows_no_widget(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401  (display machinery)
    from IPython.display import HTML, Image

    shown = []
    monkeypatch.setenv("NNKIT_STATIC", "1")
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    convolution_explorer(IMAGES)._ipython_display_()
    assert [type(o) for o in shown] == [Image, HTML]  # a figure and an animation, no ipywidgets
    assert "data:image/png" in shown[1].data  # the frames are embedded: it plays without a kernel


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="unknown kernel 'emboss'"):
        convolution_explorer(IMAGES, kernel="emboss")
    with pytest.raises(ValueError, match=r"expected a 3x3 kernel, got shape \(2, 2\)"):
        convolution_explorer(IMAGES, kernel=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"index must be in 0..2"):
        convolution_explorer(IMAGES, index=3)
