"""Instructor tooling: the ``nnkit-course`` command.

``nnkit-course`` drives nbgrader (its converters, preprocessors and gradebook) for a whole course:
release the exercises, collect an LMS download, autograde every submission in parallel on a Dask
cluster (each notebook's kernel inside a bubblewrap sandbox), export grades and feedback.

Modules:

- :mod:`nnkit.course.course`    -- the course folder: nbgrader config, paths, assignments
- :mod:`nnkit.course.collect`   -- import submissions from a zip or a folder (zip_collect conventions)
- :mod:`nnkit.course.worker`    -- what a Dask worker runs: autograde ONE submission in a private copy
- :mod:`nnkit.course.engine`    -- fan the submissions out over Dask, merge results as they arrive
- :mod:`nnkit.course.gradebook` -- the only writer of the gradebook; export a per-assignment copy
- :mod:`nnkit.course.sandbox`   -- the bubblewrap-wrapped kernel manager
- :mod:`nnkit.course.report`    -- tables, grades CSV, status
- :mod:`nnkit.course.cli`       -- argument parsing (``main``)

Nothing here is imported by ``nnkit`` itself: the course tools need nbgrader and dask, which are
development dependencies.
"""
