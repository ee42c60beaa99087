"""Convolution explorer: slide a 3x3 kernel over a digit and look at the feature map.

A convolution layer is a grid of neurons that all share the same 3x3 weights ``w`` (the
kernel) and bias ``b``; the neuron at position (i, j) sees only the 3x3 patch of the image
around pixel (i, j). Its input signal is

    s[i, j] = sum_{u, v} w[u, v] * image[i + u - 1, j + v - 1] + b      (u, v = 0, 1, 2)

(with zero padding at the border, so the feature map is 28 x 28 like the image). PyTorch's
``Conv2d`` computes exactly this sum (mathematicians call it a cross-correlation: the
kernel is not flipped). After the ReLU, ``x = max(0, s)``, a 2x2 max-pooling keeps the
largest value of every 2x2 block: 14 x 14.

Live: a drop-down of classic kernels, nine boxes to type (draw) your own weights, a
slider choosing the digit. Static (the book): the figure at the defaults and an animation
of the kernel sliding over the image and filling in the feature map.
"""

from __future__ import annotations

import warnings

import numpy as np

from nnkit import activations as act

from ._base import Widget, freeze_layout, frame_indices

__all__ = ["convolution_explorer", "ConvolutionExplorer", "KERNELS", "conv2d", "max_pool"]

#: classic 3x3 kernels
KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "vertical edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "horizontal edges": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "diagonal edges": [[0, 1, 2], [-1, 0, 1], [-2, -1, 0]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "blur": [[1 / 9] * 3] * 3,
}
_CELLS = [f"w{r}{c}" for r in range(3) for c in range(3)]


def conv2d(image, kernel, padding: int = 1, bias: float = 0.0) -> np.ndarray:
    """One-channel convolution (cross-correlation, as in ``torch.nn.Conv2d``) with zero padding.

    ``image`` (H, W), ``kernel`` (k, k); returns (H + 2 padding - k + 1, W + 2 padding - k + 1),
    ``s[i, j] = sum_{u,v} kernel[u, v] * padded[i + u, j + v] + bias``.
    """
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"expected a 2-D image and a 2-D kernel, got shapes {image.shape} and {kernel.shape}")
    padded = np.pad(image, padding)
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape)  # (H', W', k, k)
    return np.einsum("ijuv,uv->ij", windows, kernel) + bias


def max_pool(x, size: int = 2) -> np.ndarray:
    """Max-pooling: the largest value of every ``size`` x ``size`` block (H, W) -> (H // size, W // size)."""
    x = np.asarray(x, dtype=float)
    h, w = (x.shape[0] // size) * size, (x.shape[1] // size) * size
    return x[:h, :w].reshape(h // size, size, w // size, size).max(axis=(1, 3))


def _default_digits(n: int = 20) -> np.ndarray:
    """The first ``n`` test digits (n, 28, 28) in [0, 1], from whatever MNIST nnkit finds offline."""
    from nnkit.data import load_mnist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 5,000-image subset warns that it is a subset: fine here
        data = load_mnist("digits", download=False)
    return data.X_test[:n].reshape(-1, 28, 28).astype(float)


class ConvolutionExplorer(Widget):
    """The convolution explorer; make one with :func:`convolution_explorer`."""

    figsize = (10.5, 3.0)

    def __init__(self, images=None, kernel="vertical edges", index=0, relu=True):
        imgs = _default_digits() if images is None else np.asarray(images, dtype=float)
        if imgs.ndim == 2 and imgs.shape[1] == 784:
            imgs = imgs.reshape(-1, 28, 28)
        if imgs.ndim != 3 or len(imgs) == 0:
            raise ValueError(f"expected images of shape (n, 28, 28) or (n, 784), got {imgs.shape}")
        if isinstance(kernel, str):
            if kernel not in KERNELS:
                raise ValueError(f"unknown kernel {kernel!r}; expected one of {sorted(KERNELS)} or a 3x3 array")
            preset, weights = kernel, np.asarray(KERNELS[kernel], dtype=float)
        else:
            preset, weights = "custom", np.asarray(kernel, dtype=float)
        if weights.shape != (3, 3):
            raise ValueError(f"expected a 3x3 kernel, got shape {weights.shape}")
        if not 0 <= int(index) < len(imgs):
            raise ValueError(f"index must be in 0..{len(imgs) - 1}, got {index}")
        self.images = imgs
        self._init = {"preset": preset, "index": int(index), "relu": bool(relu)}
        self._init.update({name: round(float(v), 3) for name, v in zip(_CELLS, weights.ravel())})
        super().__init__()

    def defaults(self):
        return dict(self._init)

    def make_controls(self):
        import ipywidgets as W

        controls = {
            "preset": W.Dropdown(options=[*KERNELS, "custom"], description="kernel"),
            "index": W.IntSlider(min=0, max=len(self.images) - 1, description="digit"),
            "relu": W.Checkbox(description="ReLU before pooling"),
        }
        for name in _CELLS:  # three per row: the 3x3 grid of weights
            controls[name] = W.FloatText(step=0.5, description=name, layout=W.Layout(width="150px"),
                                         style={"description_width": "30px"})
        return controls

    def update(self, **changes):
        preset = changes.get("preset")
        if preset is not None and preset != "custom":
            weights = {name: round(float(v), 3) for name, v in zip(_CELLS, np.ravel(KERNELS[preset]))}
            self.move_controls(**weights)
            changes.update(weights)
        elif any(name in changes for name in _CELLS):
            changes["preset"] = "custom"  # a typed weight makes the kernel a custom one
            self.move_controls(preset="custom")
        super().update(**changes)

    def kernel(self, values=None) -> np.ndarray:
        """The current 3x3 kernel."""
        values = self.values if values is None else values
        return np.array([values[name] for name in _CELLS], dtype=float).reshape(3, 3)

    def draw(self, fig, preset, index, relu, **cells):
        image = self.images[index]
        kernel = self.kernel(cells)
        s = conv2d(image, kernel)
        x = act.relu(s) if relu else s
        pooled = max_pool(x)
        axes = fig.subplots(1, 4)
        lim = float(np.abs(s).max()) or 1.0
        axes[0].imshow(image, cmap="gray_r", vmin=0, vmax=1)
        axes[0].set_title(f"digit {index}: image (28 x 28)", fontsize=9)
        klim = float(np.abs(kernel).max()) or 1.0
        axes[1].imshow(kernel, cmap="RdBu_r", vmin=-klim, vmax=klim)
        for (r, c), v in np.ndenumerate(kernel):
            axes[1].text(c, r, f"{v:.2g}", ha="center", va="center", fontsize=10,
                         color="white" if abs(v) > 0.6 * klim else "black")
        axes[1].set_title(f"kernel w: {preset}", fontsize=9)
        axes[2].imshow(s, cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[2].set_title("feature map s (28 x 28)", fontsize=9)
        axes[3].imshow(pooled, cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[3].set_title(("ReLU, then " if relu else "") + "2x2 max-pool (14 x 14)", fontsize=9)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        self.state.update(kernel=kernel, feature_map=s, pooled=pooled)

    def animate(self, fig):
        """The kernel's 3x3 window sliding over the image while the feature map fills in."""
        from matplotlib.animation import FuncAnimation
        from matplotlib.patches import Rectangle

        v = self.defaults()
        image, kernel = self.images[v["index"]], self.kernel(v)
        s = conv2d(image, kernel)
        lim = float(np.abs(s).max()) or 1.0
        positions = [(i, j) for i in range(28) for j in range(28)]
        frames = frame_indices(len(positions), 40)
        ax_img, ax_map = fig.subplots(1, 2)
        fig.suptitle(f"sliding the '{v['preset']}' kernel over the image", fontsize=10)

        def draw_frame(p):
            i, j = positions[p]
            ax_img.clear()
            ax_map.clear()
            ax_img.imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax_img.add_patch(Rectangle((j - 1.5, i - 1.5), 3, 3, fill=False, color="tab:red", lw=2))
            ax_img.set_title("3x3 window on the image", fontsize=9)
            partial = np.full_like(s, np.nan)
            partial.flat[: p + 1] = s.flat[: p + 1]
            ax_map.imshow(partial, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax_map.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, color="tab:red", lw=2))
            ax_map.set_title(f"s[{i}, {j}] = {s[i, j]:+.2f}", fontsize=9)
            for ax in (ax_img, ax_map):
                ax.set_xticks([])
                ax.set_yticks([])

        draw_frame(frames[0])
        freeze_layout(fig)
        return FuncAnimation(fig, lambda k: draw_frame(frames[k]), frames=len(frames))

    def animation_html(self):
        """Smaller figure for the animation: two panels only."""
        saved = self.figsize
        self.figsize = (6.0, 3.2)
        try:
            return super().animation_html()
        finally:
            self.figsize = saved


def convolution_explorer(images=None, kernel="vertical edges", index=0, relu=True) -> ConvolutionExplorer:
    """Apply a chosen or typed 3x3 kernel to a digit; show the feature map and its pooled version.

    Parameters
    ----------
    images : array (n, 28, 28) or (n, 784), optional
        The images to choose from (default: the first 20 MNIST test digits nnkit finds offline).
    kernel : str or 3x3 array
        One of :data:`KERNELS` or your own weights.
    index : int
        Which image is shown first.
    relu : bool
        Apply the ReLU before the max-pooling.
    """
    return ConvolutionExplorer(images=images, kernel=kernel, index=index, relu=relu)
