"""Make nbgrader's own per-notebook work cheap in a grading worker, without changing what it does.

Autograding one submission, nbgrader opens about eleven ``Gradebook`` objects (each a new
SQLAlchemy engine, which compiles every query afresh and inspects the schema), and validates every
cell's metadata against its JSON schema twice (``jsonschema.validate`` checks the schema itself on
each call). On the numpy assignments that was a third of the grading overhead. Within one task:

* ``Gradebook`` objects on the same database URL share one engine (one connection pool, one
  compiled-statement cache); all engines of the process share one compiled-statement cache.
  ``forget_engines()`` drops them when the task's throw-away gradebook is deleted.
* Metadata is validated by a validator built once per schema (same checks, same errors).
* The task's gradebook copy, and the per-assignment copies ``export_assignment`` writes to
  ``nnkit-gb-*`` temporary folders, skip fsync on commit (they are thrown away; the instructor's
  gradebook is never touched by this).

nbgrader internals relied on here: ``nbgrader.api.create_engine`` (the name ``Gradebook.__init__``
calls) and ``nbgrader.nbgraderformat.common.jsonschema`` (the module ``validate_cell`` calls).
If a later nbgrader renames either, ``install()`` leaves it alone and grading is only slower.
"""
from __future__ import annotations

import os
import tempfile
import threading

_LOCK = threading.Lock()
_ENGINES: dict[str, object] = {}
_FAST_DB = {"path": ""}


def install(throwaway_db: str | None = None) -> None:
    """Install the three speed-ups in this process (idempotent). ``throwaway_db``: the path of
    the task's gradebook copy (no fsync on it)."""
    if throwaway_db is not None:
        _FAST_DB["path"] = str(throwaway_db)
    with _LOCK:
        if getattr(install, "done", False):
            return
        _share_engines()
        _cache_validators()
        _no_fsync_on_throwaway_copies()
        install.done = True


def forget_engines() -> None:
    """Dispose of the engines kept for this task (their database is about to be deleted)."""
    with _LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.dispose()


def _share_engines() -> None:
    import nbgrader.api
    from sqlalchemy import create_engine
    from sqlalchemy.util import LRUCache
    if getattr(nbgrader.api, "create_engine", None) is not create_engine:
        return      # not the name we know: leave nbgrader as it is
    compiled = LRUCache(2000)

    def shared_engine(url, **kwargs):
        key = str(url)
        with _LOCK:
            engine = _ENGINES.get(key)
            if engine is None:
                options = {**kwargs.pop("execution_options", {}), "compiled_cache": compiled}
                engine = _ENGINES[key] = create_engine(url, execution_options=options, **kwargs)
        return engine

    nbgrader.api.create_engine = shared_engine


class _Validators:
    """Stands for the ``jsonschema`` module inside nbgrader's format checks: same ``validate``
    (same errors), with one validator per schema instead of one (and a schema check) per call."""

    def __init__(self, jsonschema):
        self._jsonschema = jsonschema
        self._validators: dict[int, tuple[object, object]] = {}

    def validate(self, instance, schema):
        entry = self._validators.get(id(schema))
        if entry is None or entry[0] is not schema:
            cls = self._jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            entry = self._validators[id(schema)] = (schema, cls(schema))
        error = self._jsonschema.exceptions.best_match(entry[1].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(self._jsonschema, name)


def _cache_validators() -> None:
    import jsonschema
    from nbgrader.nbgraderformat import common
    if getattr(common, "jsonschema", None) is jsonschema:
        common.jsonschema = _Validators(jsonschema)


def _no_fsync_on_throwaway_copies() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragma(dbapi_conn, record):
        try:
            rows = dbapi_conn.execute("PRAGMA database_list").fetchall()
        except Exception:
            return
        exported = os.path.join(tempfile.gettempdir(), "nnkit-gb-")   # export_assignment's
        fast = _FAST_DB["path"]
        if any(r[2] and ((fast and r[2] == fast) or r[2].startswith(exported)) for r in rows):
            dbapi_conn.execute("PRAGMA synchronous=OFF")
            dbapi_conn.execute("PRAGMA journal_mode=MEMORY")
