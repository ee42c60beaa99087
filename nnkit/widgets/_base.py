"""The mechanism shared by every nnkit widget: a live UI in Jupyter, a static figure in the book.

A widget is a small object with two faces.

* In a **live kernel** (a student runs the chapter in Jupyter) it displays an ipywidgets UI:
  controls (sliders, dropdowns, buttons) above an output area holding a matplotlib figure that is
  redrawn whenever a control changes.
* In the **built book** (no kernel; the build exports ``NNKIT_STATIC=1``) it displays a plain
  matplotlib figure drawn at the default settings and, when the widget has one, an animation that
  plays in static HTML (``FuncAnimation.to_jshtml()``). Nothing ipywidgets-related is displayed, so
  the page never shows "Loading widget...", an empty box or raw widget JSON.

:func:`static_mode` decides which face is shown.

Writing a widget
----------------
Subclass :class:`Widget` and implement three hooks::

    class SineWidget(Widget):
        figsize = (6, 3)

        def defaults(self):                  # parameter name -> default value
            return {"freq": 1.0}

        def make_controls(self):             # parameter name -> ipywidgets control
            import ipywidgets as W           # import ipywidgets inside the hook (keeps imports light)
            return {"freq": W.FloatSlider(value=1.0, min=0.1, max=5, description="frequency")}

        def draw(self, fig, freq):           # draw the state for these parameters on a CLEARED figure
            ax = fig.add_subplot()
            s = np.linspace(0, 6, 200)
            ax.plot(s, np.sin(freq * s))
            self.state["freq"] = freq        # anything tests (or students) may want to inspect

    def sine_widget(freq=1.0):               # the public function, exported lazily by nnkit.widgets
        return SineWidget()

Optionally override :meth:`Widget.animate` (return a ``FuncAnimation`` on the figure it is given;
keep it to about 40 frames, see :func:`frame_indices`; create the axes once, call
:func:`freeze_layout` after the first frame and only ``ax.clear()`` and redraw in the later ones) and :meth:`Widget.extra_buttons` (buttons
such as "step" or "reset", whose handlers change parameters through :meth:`Widget.set_values`).
A widget whose parameters depend on each other (choosing a data set resets the weights) overrides
:meth:`Widget.update`, adds the dependent changes, moves the controls with
:meth:`Widget.move_controls` (which triggers no redraw) and calls ``super().update(**changes)``.

What the base class provides
----------------------------
``build_ui()``
    Constructs the live UI without displaying it: calls ``make_controls()``, connects every
    control's ``value`` to :meth:`update`, draws once, and returns an ``ipywidgets.VBox``. After it,
    ``self.controls`` maps names to controls and ``self.output`` is the output area.
``update(**changes)``
    The callback. Merges ``changes`` into ``self.values``, clears ``self.figure``, calls ``draw`` and
    puts the rendered PNG into ``self.output`` (no kernel or display needed, so tests can call it, or
    simply set ``widget.controls["freq"].value = 2.0``, which calls it).
``static_figure()``
    A new :class:`matplotlib.figure.Figure` drawn at the default settings.
``animation_html()``
    The animation as self-contained HTML/JavaScript, or ``None`` when the widget has none.
``_ipython_display_()``
    Shows the live UI, or in static mode the figure (as a PNG) and the animation.

Figures are :class:`matplotlib.figure.Figure` objects created directly, never through
``pyplot``: pyplot would keep them alive and the inline backend would show them a second time.
"""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["Widget", "static_mode", "figure_to_png", "frame_indices", "freeze_layout"]

_TRUE = {"1", "true", "yes", "on"}


def static_mode() -> bool:
    """True when widgets must render statically (environment variable ``NNKIT_STATIC=1``).

    The book build sets it; a student's Jupyter session does not, and gets the live UI.
    """
    return os.environ.get("NNKIT_STATIC", "").strip().lower() in _TRUE


def figure_to_png(fig: Figure, dpi: float | None = None) -> bytes:
    """Render a figure to PNG bytes (works without any GUI or inline backend)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def frame_indices(n_steps: int, max_frames: int = 40):
    """At most ``max_frames`` indices spread evenly over range(n_steps), always with the first and last."""
    if n_steps <= max_frames:
        return list(range(n_steps))
    return sorted(set(np.linspace(0, n_steps - 1, max_frames).round().astype(int).tolist()))


def freeze_layout(fig: Figure) -> None:
    """Lay the figure out once (constrained layout) and keep those positions from now on.

    Animations call it after drawing their first frame and then only ``ax.clear()`` and redraw the
    axes for each frame: re-running the layout for every frame would double the rendering time.
    """
    fig.draw_without_rendering()
    fig.set_layout_engine(None)


def _same(a, b) -> bool:
    """Equal, allowing rounding in the last digits for numbers (log sliders round their limits)."""
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return bool(np.isclose(a, b, rtol=1e-9, atol=0))
    return a == b


class Widget:
    """Base class of the nnkit widgets. See the module docstring for how to write one."""

    #: size of the figure in inches (width, height)
    figsize: tuple[float, float] = (9.0, 3.8)
    #: resolution of the static and live PNG
    dpi: float = 100
    #: resolution of the animation frames (lower: lighter pages)
    animation_dpi: float = 72
    #: frames per second of the animation
    fps: float = 5

    def __init__(self) -> None:
        self.values: dict[str, Any] = dict(self.defaults())
        self.state: dict[str, Any] = {}
        self.figure: Figure | None = None
        self.controls: dict[str, Any] = {}
        self.output = None
        self.ui = None
        self._syncing = False

    # ------------------------------------------------------------------ hooks for subclasses
    def defaults(self) -> dict[str, Any]:
        """Parameter name -> default value. The static figure is drawn with these."""
        return {}

    def make_controls(self) -> dict[str, Any]:
        """Parameter name -> ipywidgets control whose ``value`` is that parameter."""
        return {}

    def extra_buttons(self) -> list:
        """Optional buttons (ipywidgets.Button with their on_click handlers) shown above the controls."""
        return []

    def draw(self, fig: Figure, **values: Any) -> None:
        """Draw the state for ``values`` on the cleared figure ``fig``. Must be implemented."""
        raise NotImplementedError(f"{type(self).__name__} must implement draw(fig, **values)")

    def animate(self, fig: Figure):
        """Return a ``matplotlib.animation.FuncAnimation`` drawing on ``fig``, or None (default)."""
        return None

    # ------------------------------------------------------------------ provided machinery
    def new_figure(self) -> Figure:
        """A fresh figure of this widget's size, detached from pyplot."""
        return Figure(figsize=self.figsize, dpi=self.dpi, layout="constrained")

    def static_figure(self) -> Figure:
        """The figure at the default settings (what the built book shows)."""
        fig = self.new_figure()
        self.draw(fig, **self.defaults())
        return fig

    def animation_html(self) -> str | None:
        """The animation as self-contained HTML (plays without a kernel), or None."""
        fig = Figure(figsize=self.figsize, dpi=self.animation_dpi, layout="constrained")
        anim = self.animate(fig)
        if anim is None:
            return None
        return anim.to_jshtml(fps=self.fps, default_mode="once")

    def build_ui(self):
        """Construct the live UI (controls + output area) without displaying it; return the box."""
        import ipywidgets as W

        self.controls = self.make_controls()
        unknown = set(self.controls) - set(self.values)
        if unknown:
            raise ValueError(f"controls {sorted(unknown)} have no default in {type(self).__name__}.defaults()")
        for name, control in self.controls.items():
            control.value = self.values[name]
            if not _same(control.value, self.values[name]):  # a slider clips values outside its range
                raise ValueError(f"{type(self).__name__}: {name} = {self.values[name]!r} is outside the range "
                                 f"of its control ({getattr(control, 'min', '?')} to {getattr(control, 'max', '?')})")
            control.observe(self._on_control, names="value")
        self.output = W.Output(layout=W.Layout(min_height="200px"))
        self.figure = self.new_figure()
        rows = []
        buttons = self.extra_buttons()
        if buttons:
            rows.append(W.HBox(buttons))
        controls = list(self.controls.values())
        for i in range(0, len(controls), 3):  # three controls per row
            rows.append(W.HBox(controls[i:i + 3]))
        self.ui = W.VBox([*rows, self.output])
        self.update()
        return self.ui

    def _on_control(self, change) -> None:
        if self._syncing:
            return
        name = next(k for k, c in self.controls.items() if c is change["owner"])
        self.update(**{name: change["new"]})

    def move_controls(self, **values: Any) -> None:
        """Move the controls to ``values`` WITHOUT triggering redraws (the caller then calls update)."""
        self._syncing = True
        try:
            for name, value in values.items():
                if name in self.controls:
                    self.controls[name].value = value
        finally:
            self._syncing = False

    def set_values(self, **changes: Any) -> None:
        """Change parameters from code (e.g. a button handler): moves the controls, redraws once."""
        self.move_controls(**changes)
        self.update(**changes)

    def update(self, **changes: Any) -> None:
        """Merge ``changes`` into the current values, redraw the figure and refresh the output area."""
        unknown = set(changes) - set(self.values)
        if unknown:
            raise TypeError(f"unknown parameter(s) {sorted(unknown)}; expected some of {sorted(self.values)}")
        self.values.update(changes)
        if self.figure is None:
            self.figure = self.new_figure()
        self.figure.clear()
        self.draw(self.figure, **self.values)
        if self.output is not None:
            png = base64.b64encode(figure_to_png(self.figure)).decode("ascii")
            self.output.outputs = (
                {"output_type": "display_data", "data": {"image/png": png, "text/plain": repr(self)}, "metadata": {}},
            )

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, Image, display

        if static_mode():
            fig = self.static_figure()
            display(Image(data=figure_to_png(fig), format="png"))
            html = self.animation_html()
            if html is not None:
                display(HTML(html))
        else:
            display(self.ui if self.ui is not None else self.build_ui())

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{type(self).__name__}({shown})"

