"""nnkit.course.nbgrader_tuning: the same nbgrader, cheaper per notebook."""
from __future__ import annotations

import jsonschema
import nbgrader.api
import pytest
from nbgrader.nbgraderformat import common
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from nnkit.course import nbgrader_tuning


def test_gradebooks_on_one_database_share_one_engine_until_forgotten(tmp_path):
    nbgrader_tuning.install()
    nbgrader_tuning.install()                 # idempotent
    url = f"sqlite:///{tmp_path / 'gb.db'}"
    with nbgrader.api.Gradebook(url) as a, nbgrader.api.Gradebook(url) as b:
        assert a.engine is b.engine
        a.update_or_create_student("ada")
        assert [s.id for s in b.students] == ["ada"]
    with nbgrader.api.Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as c:
        assert c.engine is not a.engine
    nbgrader_tuning.forget_engines()
    with nbgrader.api.Gradebook(url) as d:
        assert d.engine is not a.engine and [s.id for s in d.students] == ["ada"]
    nbgrader_tuning.forget_engines()


def test_cell_metadata_is_checked_exactly_as_before():
    nbgrader_tuning.install()
    assert common.jsonschema is not jsonschema          # the cached stand-in is in place
    validator = MetadataValidatorV3()
    good = {"grade": True, "solution": False, "locked": True, "points": 2.0,
            "grade_id": "test_f", "schema_version": 3}
    cell = {"cell_type": "code", "metadata": {"nbgrader": good}, "source": ""}
    from nbformat import from_dict
    validator.validate_cell(from_dict(cell))           # no error
    bad = dict(good, points="two")
    with pytest.raises(jsonschema.ValidationError) as ours:
        validator.validate_cell(from_dict(dict(cell, metadata={"nbgrader": bad})))
    with pytest.raises(jsonschema.ValidationError) as theirs:
        jsonschema.validate(bad, validator.schema)
    assert str(ours.value) == str(theirs.value)
