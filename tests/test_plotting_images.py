"""nnkit.plotting.images: weights as images, confusion matrix, grids of (misclassified) digits."""
import numpy as np
import pytest
from matplotlib.image import AxesImage

from nnkit.plotting import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_image_grid,
    plot_misclassified,
    plot_weight_images,
)


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_weight_images_one_picture_per_neuron_with_symmetric_colours():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(784, 20))
    W[:, 3] *= 10  # a neuron with much larger weights still gets its own colour range
    fig = plot_weight_images(W, n=12, ncols=5)
    axes = _visible_axes(fig)
    assert len(axes) == 12
    for j, ax in enumerate(axes):
        (im,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
        np.testing.assert_array_equal(im.get_array(), W[:, j].reshape(28, 28))
        lo, hi = im.get_clim()
        assert lo == pytest.approx(-hi)
        assert hi == pytest.approx(np.abs(W[:, j]).max())


def test_weight_images_rejects_the_transposed_matrix():
    with pytest.raises(ValueError, match=r"\(784, n_hidden\)"):
        plot_weight_images(np.zeros((100, 784)))


def test_confusion_matrix_counts_by_true_row_and_predicted_column():
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 0, 2, 2]
    C = confusion_matrix(y_true, y_pred)
    expected = np.array([[1, 1, 0],
                         [0, 1, 0],
                         [1, 0, 2]])
    np.testing.assert_array_equal(C, expected)
    assert confusion_matrix([0, 1], [1, 1], n_classes=4).shape == (4, 4)
    with pytest.raises(ValueError, match="same length"):
        confusion_matrix([0, 1, 2], [0, 1])


def test_plot_confusion_matrix_draws_counts_and_accuracy():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 10, 300)
    y_pred = np.where(rng.random(300) < 0.8, y_true, rng.integers(0, 10, 300))
    ax = plot_confusion_matrix(y_true, y_pred)
    (im,) = ax.get_images()
    C = confusion_matrix(y_true, y_pred, 10)
    np.testing.assert_array_equal(im.get_array(), C)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 100
    assert texts[0] == str(C[0, 0]) and texts[11] == str(C[1, 1])
    assert f"{np.mean(y_true == y_pred):.1%}" in ax.get_title()
    ax = plot_confusion_matrix(y_true, y_pred, normalize=True, class_names=[f"c{k}" for k in range(10)])
    rows = ax.get_images()[0].get_array().sum(axis=1)
    np.testing.assert_allclose(rows, 1.0)
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["c0", "c1"]


def test_misclassified_shows_only_mistakes_most_confident_first():
    rng = np.random.default_rng(2)
    X = rng.random((50, 784))
    y_true = rng.integers(0, 10, 50)
    y_pred = y_true.copy()
    wrong = [3, 10, 41]
    y_pred[wrong] = (y_true[wrong] + 1) % 10
    proba = np.full((50, 10), 0.05)
    proba[10, y_pred[10]] = 0.9   # the most confident mistake
    proba[41, y_pred[41]] = 0.5
    proba[3, y_pred[3]] = 0.2
    fig = plot_misclassified(X, y_true, y_pred, proba=proba)
    axes = _visible_axes(fig)
    assert len(axes) == 3
    order = [10, 41, 3]
    for ax, i in zip(axes, order):
        assert ax.get_title().startswith(f"{y_true[i]}→{y_pred[i]}")
        np.testing.assert_array_equal(ax.get_images()[0].get_array(), X[i].reshape(28, 28))
    assert "90%" in axes[0].get_title()
    with pytest.raises(ValueError, match="no misclassified"):
        plot_misclassified(X, y_true, y_true)


def test_image_grid_accepts_square_images_and_checks_titles():
    imgs = np.zeros((4, 28, 28))
    fig = plot_image_grid(imgs, ["a", "b", "c", "d"], ncols=3)
    assert len(_visible_axes(fig)) == 4
    assert len(fig.axes) == 6  # a 2 x 3 grid, two cells hidden
    with pytest.raises(ValueError, match="4 titles"):
        plot_image_grid(imgs, ["a"])
    with pytest.raises(ValueError, match="28\\*28"):
        plot_image_grid(np.zeros((4, 100)))
