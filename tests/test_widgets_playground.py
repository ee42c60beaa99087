"""nnkit.widgets.playground: the playground trains and redraws on its buttons, its static grid and
animation, its data sets.
"""
import numpy as np
import pytest
from matplotlib.figure import Figure

from nnkit.widgets import playground
from nnkit.widgets.playground import make_dataset


def test_playground_trains_and_redraws_on_button_clicks():
    w = playground(dataset="moons", hidden=8, layers=1, lr=0.3)
    ui = w.build_ui()
    assert w.state["epoch"] == 0
    loss0 = w.state["loss"]
    b100, b1000, reset = ui.children[0].children
    b100.click()
    b100.click()
    assert w.state["epoch"] == 200
    assert w.state["loss"] < loss0 / 2 and w.state["accuracy"] > 0.9
    w.controls["lr"].value = 0.1          # a new learning rate keeps the trained network
    assert w.state["epoch"] == 200 and w.opt.lr == pytest.approx(0.1, rel=0.05)
    w.controls["dataset"].value = "circles"  # a new data set starts afresh
    assert w.state["epoch"] == 0 and w.state["dataset"] == "circles"
    b100.click()
    reset.click()
    assert w.state["epoch"] == 0


def test_playground_static_grid_and_animation_are_cheap_to_configure():
    w = playground()
    w.grid_datasets = ("moons", "spirals")
    w.grid_columns = ((2, 1), (8, 2))
    w.grid_epochs = 40
    fig = w.static_figure()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    assert set(w.state["grid_accuracy"]) == {("moons", 2, 1), ("moons", 8, 2), ("spirals", 2, 1), ("spirals", 8, 2)}
    w.anim_frames = 3
    html = w.animation_html()
    assert "<script" in html and html.count("data:image/png") == 3


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "xor"])
def test_playground_datasets(name):
    X, y = make_dataset(name, n=120, seed=1)
    assert X.shape == (120, 2) and set(np.unique(y)) == {0, 1}
    with pytest.raises(ValueError, match="dataset"):
        make_dataset("blobz")
