"""nnkit.files: whole files or none, folders swapped in whole, trees kept inside their base."""
from __future__ import annotations

import os

import pytest

from nnkit import files


def test_atomic_write_replaces_whole_and_leaves_nothing_when_it_fails(tmp_path):
    path = tmp_path / "sub" / "grades.csv"
    files.atomic_write(path, "a,b\n")
    assert path.read_text() == "a,b\n"
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())      # like open()
    with pytest.raises(RuntimeError):
        with files.atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write("half a line")
            raise RuntimeError("interrupted")
    assert path.read_text() == "a,b\n"                      # the old file, untouched
    assert sorted(p.name for p in path.parent.iterdir()) == ["grades.csv"]    # no temporary left


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_write_json_is_sorted_and_keeps_unicode(tmp_path):
    files.write_json(tmp_path / "s.json", {"b": 1, "a": "Zoë"})
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == '{\n "a": "Zoë",\n "b": 1\n}'


def test_new_folder_swaps_in_whole_or_not_at_all(tmp_path):
    dest = tmp_path / "autograded" / "ada"
    with files.new_folder(dest) as stage:
        (stage / "hw.ipynb").write_text("v1")
    assert (dest / "hw.ipynb").read_text() == "v1"
    with pytest.raises(ValueError):
        with files.new_folder(dest) as stage:
            (stage / "hw.ipynb").write_text("half")
            raise ValueError("a bad file")
    assert (dest / "hw.ipynb").read_text() == "v1"          # unchanged
    keep = tmp_path / "replaced" / "old"
    with files.new_folder(dest, keep=keep) as stage:
        (stage / "hw.ipynb").write_text("v2")
    assert (dest / "hw.ipynb").read_text() == "v2" and (keep / "hw.ipynb").read_text() == "v1"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["ada"]   # no stage left


def test_trees_round_trip_and_refuse_paths_outside_their_base(tmp_path):
    tree = {"a.ipynb": b"{}", "data/x.npy": b"\x93NUMPY"}
    files.write_tree(tmp_path / "t", tree, mode=0o444)
    assert files.read_tree(tmp_path / "t") == tree
    assert (tmp_path / "t" / "a.ipynb").stat().st_mode & 0o777 == 0o444
    assert files.tree_digest(tree) == files.tree_digest(dict(reversed(list(tree.items()))))
    assert files.tree_digest(tree) != files.tree_digest({**tree, "a.ipynb": b"{ }"})
    for bad in ("../escape.txt", "/etc/passwd", "data/../../x"):
        with pytest.raises(ValueError, match="refusing a path outside"):
            files.write_tree(tmp_path / "t", {bad: b"x"})
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "x").exists()
    (tmp_path / "t" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "t" / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_bytes(b"{}")
    os.symlink("/etc/hostname", tmp_path / "t" / "link")
    assert files.read_tree(tmp_path / "t", skip=(".ipynb_checkpoints",)) == tree   # no link either
    assert files.read_tree(tmp_path / "missing") == {}


def test_empty_folder_never_follows_a_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    folder = tmp_path / "slot"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "f").write_text("x")
    os.symlink(outside, folder / "link")
    files.empty_folder(folder)
    assert list(folder.iterdir()) == [] and (outside / "keep.txt").read_text() == "mine"
