"""fastai_hf.r.output: what Python prints, sent to an R callback as a console or knitr wants it."""
import sys

import pytest
from fastai_hf.r.output import RStream, r_output


def test_table_mode_keeps_finished_lines_only():
    got = []
    with r_output(got.append, "table"):
        print("\u2588", end="\r")
        print("epoch  train_loss")
        print("\rEpoch 1/1 : |----| 0% [0/8]", end="")
        print("\rEpoch 1/1 :           \r", end="")
        print("0      0.5")
    assert "".join(got) == "epoch  train_loss\n0      0.5\n"


def test_table_mode_finishes_an_unfinished_line_at_the_end():
    got = []
    with r_output(got.append, "table"):
        print("unfinished", end="")
    assert got == ["unfinished\n"]


def test_table_mode_drops_a_bar_left_at_the_end():
    "lr_find stops mid-epoch: its last progress bar is not a line of output."
    got = []
    with r_output(got.append, "table"):
        print("\rEpoch 13/13 : |--| 50.00% [4/8]", end="")
    assert got == []


def test_bar_mode_passes_carriage_returns():
    got = []
    with r_output(got.append, "bar"):
        print("a", end="\r")
    assert got == ["a", "\r"]


def test_silent_mode_writes_nothing():
    got = []
    with r_output(got.append, "silent"):
        print("epoch  train_loss")
    assert got == []


def test_stdout_is_restored_after_the_block():
    before = sys.stdout
    with r_output([].append, "table"):
        assert sys.stdout is not before
    assert sys.stdout is before


def test_stdout_is_restored_after_an_error():
    before, got = sys.stdout, []
    with pytest.raises(KeyError):
        with r_output(got.append, "table"):
            print("half a line", end="")
            raise KeyError("boom")
    assert sys.stdout is before and got == ["half a line\n"]  # what was printed still reaches R


def test_without_a_callback_output_stays_on_stdout(capsys):
    with r_output(None, "table"):
        print("to the terminal")
    assert capsys.readouterr().out == "to the terminal\n"


def test_bar_mode_looks_like_a_terminal():
    assert RStream(print, "bar").isatty() and not RStream(print, "table").isatty()


def test_unknown_modes_are_refused():
    with pytest.raises(ValueError, match="progress mode"):
        RStream(print, "loud")
