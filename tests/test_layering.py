"""The numpy core stays light: importing nnkit and nnkit.data loads no torch, matplotlib or
ipywidgets and takes well under a second."""
import json
import subprocess
import sys

HEAVY = ("torch", "matplotlib", "ipywidgets")

PROBE = """
import json, sys, time
t = time.process_time()   # CPU time: robust to other processes on a busy machine
import nnkit, nnkit.data
elapsed = time.process_time() - t
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"elapsed": elapsed, "heavy": heavy}}))
"""


def _probe(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_nnkit_loads_no_heavy_package_and_is_fast():
    result = _probe(PROBE.format(heavy=set(HEAVY)))
    assert result["heavy"] == []
    assert result["elapsed"] < 1.0, f"import nnkit, nnkit.data took {result['elapsed']:.2f} s of CPU time"


def test_core_names_and_lazy_load_mnist():
    code = """
import json, sys
import nnkit
names = ["activations", "losses", "layers", "models", "optim", "gradcheck", "Dense", "Sequential",
         "ReLU", "Dropout", "MLP", "Perceptron", "LogisticRegression", "SGD", "check_layer",
         "softmax_cross_entropy"]
missing = [n for n in names if not hasattr(nnkit, n)]
before = "nnkit.data" in sys.modules
from nnkit.data import load_mnist
print(json.dumps({"missing": missing, "same": nnkit.load_mnist is load_mnist,
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))
""" % (set(HEAVY),)
    result = _probe(code)
    assert result["missing"] == []
    assert result["same"] is True
    assert result["heavy"] == []
