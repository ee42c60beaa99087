"""nnkit.widgets._base: the mechanism every widget shares (static mode, lazy import, the live UI
built without a display and driven through its controls, the static figure instead of it).
"""
import subprocess
import sys

import numpy as np
import pytest

from nnkit.widgets import Widget, gd_explorer, static_mode


def test_static_mode_reads_environment(monkeypatch):
    monkeypatch.setenv("NNKIT_STATIC", "1")
    assert static_mode()
    monkeypatch.setenv("NNKIT_STATIC", "0")
    assert not static_mode()
    monkeypatch.delenv("NNKIT_STATIC")
    assert not static_mode()


def test_importing_widgets_is_lazy():
    code = ("import sys, nnkit.widgets; "
            "print(any(m in sys.modules for m in ('ipywidgets', 'torch', 'nnkit.widgets.perceptron')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class _Sine(Widget):
    figsize = (3, 2)

    def defaults(self):
        return {"freq": 1.0}

    def make_controls(self):
        import ipywidgets as W
        return {"freq": W.FloatSlider(min=0.5, max=3)}

    def draw(self, fig, freq):
        ax = fig.add_subplot()
        ax.plot(np.sin(freq * np.linspace(0, 6, 50)))
        self.state["freq"] = freq


def test_display_static_shows_figure_and_no_widget(monkeypatch):
    import ipywidgets
    from IPython.display import Image

    monkeypatch.setenv("NNKIT_STATIC", "1")
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    w = _Sine()
    w._ipython_display_()
    assert len(shown) == 1 and isinstance(shown[0], Image) and shown[0].data[:4] == b"\x89PNG"
    assert w.ui is None and not any(isinstance(o, ipywidgets.Widget) for o in shown)


def test_display_live_shows_the_ui(widget_png, monkeypatch):
    import ipywidgets

    monkeypatch.delenv("NNKIT_STATIC", raising=False)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    w = _Sine()
    w._ipython_display_()
    assert shown == [w.ui] and isinstance(w.ui, ipywidgets.VBox)
    w.controls["freq"].value = 2.5  # the slider drives the redraw
    assert w.state["freq"] == 2.5 and widget_png(w)


def test_build_ui_refuses_values_outside_the_controls_range(monkeypatch):
    w = _Sine()
    w.values["freq"] = 10.0  # the slider stops at 3
    with pytest.raises(ValueError, match="freq = 10.0 is outside"):
        w.build_ui()
    g = gd_explorer(lr=50.0, batch_size=5, epochs=2)  # starting values widen the explorer's ranges
    g.build_ui()
    assert g.controls["lr"].value == pytest.approx(50.0) and g.controls["batch_size"].value == 5


def test_update_rejects_unknown_parameter():
    w = _Sine()
    with pytest.raises(TypeError, match="freq"):
        w.update(frequency=2.0)
