"""nnkit.data.augment: random shifts and rotations of images (chapter 5, data augmentation)."""
import numpy as np
import pytest

from nnkit.data.augment import augment, random_shift_rotate, shift_rotate


def _bar():
    img = np.zeros((28, 28))
    img[6:22, 13:15] = 1.0          # a vertical bar in the middle
    return img


def test_shift_moves_the_ink_by_whole_pixels():
    img = _bar()
    moved = shift_rotate(img, dx=3, dy=-2)
    np.testing.assert_allclose(moved[4:20, 16:18], 1.0)
    assert moved.sum() == pytest.approx(img.sum())


def test_rotation_by_90_degrees_turns_a_vertical_bar_horizontal():
    img = np.zeros((29, 29))
    img[4:25, 14] = 1.0
    turned = shift_rotate(img, angle=90)
    np.testing.assert_allclose(turned[14, 4:25], 1.0, atol=1e-9)
    assert turned[:, 14].sum() == pytest.approx(1.0, abs=1e-9)   # only the centre pixel stays


def test_random_copies_keep_shape_dtype_range_and_label_order():
    rng = np.random.default_rng(0)
    X = rng.random((6, 784)).astype(np.float32)
    y = np.arange(6)
    out = random_shift_rotate(X, seed=1)
    assert out.shape == X.shape and out.dtype == np.float32
    assert out.min() >= X.min() and out.max() <= X.max()
    assert not np.allclose(out, X)
    np.testing.assert_array_equal(out, random_shift_rotate(X, seed=1))   # reproducible
    Xa, ya = augment(X, y, copies=2, seed=0)
    assert Xa.shape == (18, 784)
    np.testing.assert_array_equal(Xa[:6], X)
    np.testing.assert_array_equal(ya, np.tile(y, 3))
    no_motion = random_shift_rotate(X, max_shift=0, max_angle=0)
    np.testing.assert_allclose(no_motion, X)


def test_bad_input_is_rejected_with_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(n, 784\)"):
        random_shift_rotate(np.zeros((3, 100)))
    with pytest.raises(ValueError, match="same number of rows"):
        augment(np.zeros((3, 784)), np.zeros(2))
