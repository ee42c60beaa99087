"""A tiny nbgrader course and hostile submissions for the nnkit-course tests."""
