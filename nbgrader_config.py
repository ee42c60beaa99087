"""nbgrader configuration of the nnkit course (nbgrader 0.9).

Run nbgrader from this folder with the virtualenv's bin first on PATH (nbgrader
shells out to ``alembic``):

    export PATH="$PWD/.venv/bin:$PATH"
    nbgrader generate_assignment perceptron --force   # solutions/ -> exercises/
    nbgrader autograde perceptron                     # submitted/ -> autograded/, gradebook.db

Instructor notebooks (with solutions and hidden tests) live in ``solutions/``;
``nbgrader generate_assignment`` writes the student versions to ``exercises/``.
"""
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

#: The graded assignments, one per book chapter, in the chapters' order.
ASSIGNMENTS = [
    "perceptron",
    "logistic_regression",
    "activations",
    "backprop",
    "mlp_mnist",
    "cnn_rnn",
    "transfer_learning",
]

c.CourseDirectory.course_id = "nnkit-intro-nn"
c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# nbgrader 0.9 has no list of assignments in its configuration (db_assignments was removed);
# generate_assignment adds each assignment to the gradebook as it generates it.
c.GenerateAssignment.create_assignment = True

# Each cell of a notebook must finish within this many seconds (the slowest cell, a short
# training run, takes a few seconds on 2 cores); a stuck cell fails instead of hanging grading.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# Students' notebooks are committed and released without outputs.
c.ClearOutput.enabled = True
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# No credit for nnkit's own implementation of a graded part (nnkit.grading.policy): right after
# the notebook runs, test cells whose answers call it get an error output and score 0.
# (`nnkit-course autograde` applies the same rule outside its sandbox.)
from nbgrader.converters import Autograde  # noqa: E402

_default = Autograde.class_traits()["autograde_preprocessors"].default()
c.Autograde.autograde_preprocessors = [
    pp for p in _default
    for pp in ([p, "nnkit.course.policy_check.EnforcePolicy"] if p.__name__ == "Execute" else [p])]
