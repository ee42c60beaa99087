"""The shipped pretrained CNN: integrity check, errors, accuracy, the reproduction script, transfer."""

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from nnkit.pretrained import (
    INFO_FILE,
    WEIGHTS_FILE,
    CheckpointNotFoundError,
    ChecksumMismatchError,
    checkpoint_dir,
    load_pretrained,
    pretrained_info,
    sha256_file,
)
from nnkit.pytorch.models import SmallCNN

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def copy_dir(tmp_path):
    """A copy of the shipped checkpoint that a test may damage."""
    for name in (WEIGHTS_FILE, INFO_FILE):
        shutil.copy(checkpoint_dir() / name, tmp_path / name)
    return tmp_path


def test_shipped_checkpoint_is_small_and_matches_its_recorded_hash():
    info = pretrained_info()
    weights = checkpoint_dir() / WEIGHTS_FILE
    assert weights.stat().st_size == info["size_bytes"] < 500_000
    assert sha256_file(weights) == info["sha256"]
    for key in ("seed", "epochs", "test_accuracy", "architecture", "n_train"):
        assert key in info
    assert info["n_train"] == 60_000 and info["n_test"] == 10_000  # trained on the full set


def test_load_pretrained_gives_an_eval_mode_small_cnn():
    model = load_pretrained()
    assert isinstance(model, SmallCNN) and not model.training
    assert len(model.class_names) == 10
    with torch.no_grad():
        out = model(torch.rand(2, 1, 28, 28))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_altered_checkpoint_raises_a_clear_error(copy_dir):
    path = copy_dir / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte inside the weights
    path.write_bytes(bytes(data))
    expected = pretrained_info(copy_dir)["sha256"]
    with pytest.raises(ChecksumMismatchError) as err:
        load_pretrained(copy_dir)
    message = str(err.value)
    assert str(path) in message and expected in message and sha256_file(path) in message
    assert "python -m nnkit.pretrained" in message


def test_missing_checkpoint_raises_a_clear_error(copy_dir):
    (copy_dir / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointNotFoundError, match="python -m nnkit.pretrained") as err:
        load_pretrained(copy_dir)
    assert str(copy_dir / WEIGHTS_FILE) in str(err.value)
    assert isinstance(err.value, FileNotFoundError)


def test_missing_description_raises_a_clear_error(copy_dir):
    (copy_dir / INFO_FILE).unlink()
    with pytest.raises(CheckpointNotFoundError, match=INFO_FILE):
        load_pretrained(copy_dir)


def test_tampered_hash_in_the_description_is_caught(copy_dir):
    info_path = copy_dir / INFO_FILE
    info = json.loads(info_path.read_text())
    info["sha256"] = "0" * 64
    info_path.write_text(json.dumps(info))
    with pytest.raises(ChecksumMismatchError, match="0{64}"):
        load_pretrained(copy_dir)


def test_broken_description_raises_a_clear_error(copy_dir):
    from nnkit.pretrained import CheckpointError

    (copy_dir / INFO_FILE).write_text("{ not json")
    with pytest.raises(CheckpointError, match="not valid JSON.*python -m nnkit.pretrained"):
        load_pretrained(copy_dir)


@pytest.mark.slow  # the CNN over the 10,000 test images
@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                    reason="Debian's Fashion-MNIST (apt-get install dataset-fashion-mnist) is not installed")
def test_pretrained_reaches_its_recorded_test_accuracy():
    from nnkit.data import load_mnist
    from nnkit.pytorch.training import evaluate, make_loader

    data = load_mnist("fashion", root=DEBIAN_FASHION, flatten=False, download=False)
    X = (data.X_test.astype(np.float32) / 255.0)[:, None]
    _, acc = evaluate(load_pretrained(), make_loader(X, data.y_test, 1000, shuffle=False), "cpu")
    recorded = pretrained_info()["test_accuracy"]
    assert acc == pytest.approx(recorded, abs=1e-3)
    assert acc > 0.88


@pytest.mark.slow  # trains in a subprocess
@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                    reason="Debian's Fashion-MNIST (apt-get install dataset-fashion-mnist) is not installed")
def test_pretraining_script_runs_end_to_end_on_a_slice(tmp_path):
    out = tmp_path / "ckpt"
    env = dict(os.environ, OMP_NUM_THREADS="1", NNKIT_OFFLINE="1")
    cmd = [sys.executable, "-m", "nnkit.pretrained", "--limit", "300", "--epochs", "1", "--out", str(out),
           "--data", str(DEBIAN_FASHION), "--quiet"]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    info = json.loads((out / INFO_FILE).read_text())
    assert info["n_train"] == 300 and info["epochs"] == 1 and info["seed"] == 0
    assert info["sha256"] == sha256_file(out / WEIGHTS_FILE) and info["sha256"] in run.stdout
    assert 0.0 <= info["test_accuracy"] <= 1.0
    model = load_pretrained(out)  # what the script wrote passes the loader's own check
    assert isinstance(model, SmallCNN)
    assert not list(out.glob("*.tmp"))  # no temporary files left behind


def test_pretraining_script_rejects_bad_arguments(tmp_path):
    run = subprocess.run([sys.executable, "-m", "nnkit.pretrained", "--epochs", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "--epochs must be at least 1" in run.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.slow  # three transfer experiments (torch training)
def test_transfer_curve_is_reproducible_from_a_seed():
    from nnkit.data import load_mnist
    from nnkit.pytorch.transfer import METHODS, transfer_experiment

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the digits subset warns that it is a subset
        data = load_mnist("digits", download=False)
    pretrained = load_pretrained()
    args = (pretrained, data.X_train, data.y_train, data.X_test[:300], data.y_test[:300])
    threads = torch.get_num_threads()
    first = transfer_experiment(*args, labels_per_class=(1, 3), seed=3, steps=4)
    second = transfer_experiment(*args, labels_per_class=(1, 3), seed=3, steps=4)
    other = transfer_experiment(*args, labels_per_class=(1, 3), seed=4, steps=4, methods=("frozen", "scratch"))
    assert torch.get_num_threads() == threads  # the experiment's single-thread setting is undone
    assert list(first.accuracy) == list(METHODS)
    assert first.accuracy == second.accuracy
    assert {m: first.accuracy[m] for m in other.accuracy} != other.accuracy  # another seed, other draws
    assert all(0.0 <= a <= 1.0 for accs in first.accuracy.values() for a in accs)
    # the pretrained network itself is left untouched
    torch.testing.assert_close(pretrained.state_dict(), load_pretrained().state_dict())


def test_few_label_indices_are_balanced_nested_and_seeded():
    from nnkit.pytorch.transfer import few_label_indices

    y = np.repeat(np.arange(4), 6)
    five = few_label_indices(y, 5, seed=1)
    assert np.bincount(y[five]).tolist() == [5, 5, 5, 5] and len(set(five)) == 20
    two = few_label_indices(y, 5, seed=1)[: 4 * 2]
    assert np.bincount(y[two]).tolist() == [2, 2, 2, 2]  # the first 2*K of a draw are 2 per class
    np.testing.assert_array_equal(five, few_label_indices(y, 5, seed=1))
    assert not np.array_equal(five, few_label_indices(y, 5, seed=2))
    with pytest.raises(ValueError, match="class 0 has only 6 examples, 7 labels per class requested"):
        few_label_indices(y, 7)
