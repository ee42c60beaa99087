"""nnkit.plotting.boundaries: the data, a classifier's regions and a linear boundary are drawn as expected."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection

from nnkit.plotting import plot_data, plot_decision_boundary, plot_linear_boundary


def _points():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def test_plot_data_one_scatter_per_class():
    X, y = _points()
    ax = plot_data(X, 2 * y - 1)
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 2
    assert sorted(len(c.get_offsets()) for c in scatters) == sorted(np.bincount(y).tolist())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["y = -1", "y = 1"]
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot_data(np.zeros((4, 3)), np.zeros(4))


def test_plot_decision_boundary_shades_classes_and_draws_boundary():
    X, y = _points()
    fig, ax = plt.subplots()
    out = plot_decision_boundary(lambda Z: (Z[:, 0] + Z[:, 1] > 0).astype(int), X, y, ax=ax)
    assert out is ax
    contour_sets = [c for c in ax.collections if not isinstance(c, PathCollection)]
    assert len(contour_sets) == 2  # filled regions + the boundary line
    boundary = contour_sets[1].allsegs[0][0]  # the line x1 + x2 = 0 (up to the grid's resolution)
    assert np.abs(boundary.sum(axis=1)).max() < 0.1
    ax2 = plot_decision_boundary(lambda Z: 1 / (1 + np.exp(-(Z[:, 0] + Z[:, 1]))), X, y, proba=True)
    level = [c for c in ax2.collections if not isinstance(c, PathCollection)][1]
    assert list(level.levels) == [0.5]
    with pytest.raises(ValueError, match="returned"):
        plot_decision_boundary(lambda Z: Z[:3, 0], X, y)


def test_plot_linear_boundary_line_and_normal_vector():
    fig, ax = plt.subplots()
    ax.set_xlim(-1, 2)
    ax.set_ylim(-1, 2)
    plot_linear_boundary([-30, 20, 20], ax=ax)  # the lecture's AND unit: x1 + x2 = 1.5
    (line,) = ax.get_lines()
    x1, x2 = line.get_data()
    np.testing.assert_allclose(np.asarray(x1) + np.asarray(x2), 1.5)
    arrow = ax.texts[0]  # annotate: arrow from the line along (w1, w2)
    start, end = np.array(arrow.xyann), np.array(arrow.xy)
    assert start.sum() == pytest.approx(1.5)  # starts on the line
    d = end - start
    assert d[0] == pytest.approx(d[1]) and d[0] > 0  # parallel to (20, 20): normal to the line
    with pytest.raises(ValueError, match=r"\(w0, w1, w2\)"):
        plot_linear_boundary([1, 2])
