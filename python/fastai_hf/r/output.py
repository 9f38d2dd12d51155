"""Python's output to the R console: training progress, the epoch table, download bars, and the
warnings meant for the user (`InputWarning`), which R shows as R warnings.

R functions run Python inside `r_output`, which sends Python's stdout to an R callback, so fastprogress
bars show in the R console and the epoch table lands in knitr output, `sink()` and `capture.output()`.
"""
import contextlib
import io
import sys
import warnings

from ..checks import InputWarning

__all__ = ["RStream", "r_output", "r_warnings"]


class RStream(io.TextIOBase):
    """A text stream that hands what Python prints to `write` (an R function).

    mode "bar": everything as is, carriage returns included, so fastprogress bars animate in a console.
    mode "table": behaves like a terminal that keeps only finished lines: a carriage return discards the
    line written so far. Progress bars vanish and the epoch table stays: readable knitr output and logs.
    mode "silent": nothing.
    """
    def __init__(self, write, mode="bar"):
        if mode not in ("bar", "table", "silent"):
            raise ValueError(f"progress mode must be 'bar', 'table' or 'silent', not {mode!r}")
        self._write, self.mode, self._line, self._bar = write, mode, "", False

    def writable(self): return True
    def isatty(self): return self.mode == "bar"

    def write(self, s):
        if self.mode == "bar": self._write(s)
        elif self.mode == "table":
            out, parts = [], s.split("\n")
            for i, part in enumerate(parts):
                # What follows the last carriage return replaces the line (and marks it as a bar that
                # is redrawn in place); a newline finishes it.
                if "\r" in part: self._line, self._bar = part.rsplit("\r", 1)[1], True
                else: self._line += part
                if i < len(parts) - 1:
                    out.append(self._line.rstrip() + "\n")
                    self._line, self._bar = "", False
            if out: self._write("".join(out))
        return len(s)

    def close_line(self):
        "An unfinished line left at the end, unless it is a progress bar (drawn after a carriage return)."
        if self.mode == "table" and self._line.strip() and not self._bar: self._write(self._line.rstrip() + "\n")
        self._line, self._bar = "", False

    def flush(self): pass


@contextlib.contextmanager
def r_output(write=None, mode="bar"):
    "Route sys.stdout to `write` (an R callback) while the block runs; no-op when `write` is None."
    if write is None:
        yield
        return
    stream, old = RStream(write, mode), sys.stdout
    sys.stdout = stream
    try: yield stream
    finally:
        try: stream.close_line()
        finally: sys.stdout = old


@contextlib.contextmanager
def r_warnings(warn=None):
    """Hand the `InputWarning`s raised while the block runs to `warn` (an R callback taking the message),
    every time (not once per place, as Python shows them); other warnings show as Python shows them.
    No-op when `warn` is None."""
    if warn is None:
        yield
        return
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InputWarning)
            yield
    finally:  # also when the call fails: the warning may explain why
        for w in caught:
            if issubclass(w.category, InputWarning): warn(str(w.message))
            else: warnings.showwarning(w.message, w.category, w.filename, w.lineno)
