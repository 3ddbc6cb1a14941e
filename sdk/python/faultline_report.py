"""Report what a reproduction saw to the faultline run that started it.

`faultline exec -- python3 repro.py` gives the script the path of its report channel in
$FAULTLINE_REPORT (docs/report-protocol.md). Each call here appends one JSON event to it with a
single write, so threads may report at once. Run by hand, without faultline, every call does
nothing and returns False, so the script works the same.

    import faultline_report as fr
    fr.observe("lost_update", lost, f"{lost} of {total} increments lost")
    fr.metric("increments", total, "ops")
"""
import json
import os

__all__ = ["observe", "metric", "note", "active"]


def active():
    """True inside a faultline run (the report channel is known)."""
    return bool(os.environ.get("FAULTLINE_REPORT"))


def _emit(event):
    path = os.environ.get("FAULTLINE_REPORT")
    if not path:
        return False
    line = (json.dumps(event, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return True


def observe(kind, count=1, detail=None):
    """The oracle's verdict: symptom `kind` seen `count` times (0: checked and not seen)."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"observe: count must be a whole number >= 0, not {count!r}")
    event = {"type": "observation", "kind": str(kind), "count": count}
    if detail:
        event["detail"] = str(detail)
    return _emit(event)


def metric(name, value, unit=None):
    """A number the reproduction measured, with its unit."""
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"metric: {name} must be a finite number, not {value!r}")
    event = {"type": "metric", "name": str(name), "value": value}
    if unit:
        event["unit"] = str(unit)
    return _emit(event)


def note(text):
    """A line of free text for the record."""
    return _emit({"type": "note", "text": str(text)})
