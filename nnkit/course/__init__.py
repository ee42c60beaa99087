"""Instructor tooling: the ``nnkit-course`` command, on top of nbgrader.

One term's data flow, one file per stage (each file's imports show what it depends on)::

    LMS zip ──collect──▶ submitted/ ──autograde──▶ GradingTask ──worker──▶ GradingResult ──▶ gradebook
                                        │            (task)      kernel/zygote (sandbox)      (sole writer)
                                        │                        execute: cells, records         │
                                        │                        verdicts: trusted judgement     ▼
                                        └── solution_records (the solution's, made by release)  grades,
                                                                                                 feedback

- :mod:`~nnkit.course.coursedir`   the course folder: nbgrader config, paths, assignments, files
- :mod:`~nnkit.course.release`     solutions/ -> exercises/, and the solution's records
- :mod:`~nnkit.course.roster`      the class list from the LMS; :mod:`~nnkit.course.collect` the LMS
  download -> ``submitted/`` (limits, newest wins, what was replaced kept)
- :mod:`~nnkit.course.autograde`   what to grade, the Dask run, each result merged as it arrives;
  :mod:`~nnkit.course.state` what it remembers between runs
- :mod:`~nnkit.course.task`        :class:`GradingTask` / :class:`GradingResult`, what travels
- :mod:`~nnkit.course.worker`      one submission graded in a private, throw-away course folder
- :mod:`~nnkit.course.kernel`      probe, limits (``c.Sandbox.*``), the bubblewrap launcher;
  :mod:`~nnkit.course.zygote` (+ ``zygote_server``) kernels forked from a pre-imported sandbox
- :mod:`~nnkit.course.execute`     nbgrader's Execute in the sandbox, per-cell records
- :mod:`~nnkit.course.verdicts`    the trust decision: what a recorded output is worth, tampering,
  the policy (no credit for nnkit's own implementation; ``policy_check`` for plain nbgrader)
- :mod:`~nnkit.course.solution_records`  the solution's records, kept per solution and grading code
- :mod:`~nnkit.course.gradebook`   the only writer of the gradebook; a per-assignment copy for tasks
- :mod:`~nnkit.course.feedback`    nbgrader's feedback, hidden tests hidden, the LMS zip
- :mod:`~nnkit.course.report` tables, grades, status; :mod:`~nnkit.course.class_report` (with
  :mod:`~nnkit.course.similarity`) what the grades say about the class
- :mod:`~nnkit.course.dist`        the student course; :mod:`~nnkit.course.setup_cell` its set-up cell
- :mod:`~nnkit.course.cli`         ``nnkit-course`` (``entry`` names the extra to install if missing)
- :mod:`~nnkit.course.nbgrader_tuning`  nbgrader's per-notebook work made cheap in a worker

nbgrader internals relied on (nbgrader 0.9; each is tested through the commands):

- ``Autograde.autograde_preprocessors``' default list, with ``Execute`` swapped for ours (execute):
  the only way to run nbgrader's own autograde passes with another kernel.
- nbclient's ``NotebookClient`` internals in ``SandboxedExecute`` (``setup_kernel``,
  ``wait_for_reply``, ``output``, ``reset_execution_trackers``, ``_check_assign_resources``,
  ``set_widgets_metadata``): per-cell records, limits and verdicts need the loop over cells.
- ``SaveAutoGrades``'s attributes (``notebook_id``, ``assignment_id``, ``student_id``,
  ``gradebook``) set by hand and ``NbGraderPreprocessor.preprocess`` called (gradebook): one open
  gradebook for a whole run instead of one per notebook.
- ``Gradebook.db`` (its session) committed directly, and ``nbgrader.api.Base`` with the
  ``alembic_version`` table written by hand for the per-task copy (gradebook): a new Gradebook
  would otherwise run ``alembic`` (seconds) to stamp it.
- ``ClearHiddenTests._remove_hidden_test_region`` (feedback): hides the tests' code but keeps the
  cell and its verdict.
- ``FileNameCollectorPlugin.named_regexp`` (collect) and ``DbStudentImportApp.extra_args``
  (gradebook): nbgrader's own file-name matching and student import, driven from Python.
- ``nbgrader.api.create_engine`` and ``nbgrader.nbgraderformat.common.jsonschema``
  (nbgrader_tuning): speed only; if renamed, grading is slower, not different.

Nothing here is imported by ``nnkit`` itself: the course tools need nbgrader and Dask
(``pip install 'nnkit[course]'``).
"""
