"""Input checks that fail early and say what to fix, in the language of the user who called.

fastai reads rows lazily, so bad data surfaces as a KeyError or a NaN loss deep in training. The
checks here run up front and name the column, label or argument at fault. Python users get 0-based
rows and pandas advice; R users (the R package runs its calls inside `speaking("r")`) get 1-based
rows, R values and R code. Every other module builds its messages with `rows`, `show` and `advice`,
so no message is written twice. This module is a leaf: it imports nothing else of the package.
"""
import contextlib
import contextvars
import math
import numbers

import numpy as np
import pandas as pd

__all__ = ["as_int", "as_number", "check_texts", "speaking", "for_r", "rows", "show", "advice",
           "check_text_column", "check_one_hot", "check_categories", "column_names", "check_not_empty",
           "InputWarning", "check_learner", "check_lr", "check_thresholds", "check_classes", "count"]

# ------------------------------------------------------------------------------------ language
_LANGUAGE = contextvars.ContextVar("fastai_hf_user_language", default="python")


@contextlib.contextmanager
def speaking(language):
    "Word the messages raised inside the block for `language`: 'python' (default) or 'r'."
    if language not in ("python", "r"): raise ValueError(f"language must be 'python' or 'r', not {language!r}")
    token = _LANGUAGE.set(language)
    try: yield
    finally: _LANGUAGE.reset(token)


def for_r():
    "Is the user an R user (the call came through the R package)?"
    return _LANGUAGE.get() == "r"


def advice(python, r):
    "The advice for the user's language: pandas / Python code, or R code."
    return r if for_r() else python


def show(value):
    "A value as the user writes it: Python's repr, or R's notation (NA, TRUE, \"text\", c(...), 2 not np.int64(2))."
    if isinstance(value, np.generic): value = value.item()
    if not for_r(): return repr(value)
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    if isinstance(value, float) and math.isinf(value): return "Inf" if value > 0 else "-Inf"
    if isinstance(value, bool): return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15: return str(int(value))
    if isinstance(value, str): return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)): return "c(" + ", ".join(show(v) for v in value) + ")"
    return str(value)


def rows(positions, n=5):
    """Row labels for a message: the first `n` of `positions` (0-based, or a DataFrame's index labels),
    as 'rows [3, 7]' for Python or 'rows 4, 8' (1-based) for R, with a count of the rest."""
    positions = [int(p) if isinstance(p, (numbers.Integral, np.integer)) else p for p in positions]
    shown = positions[:n]
    if for_r():
        text = ", ".join(str(p + 1) if isinstance(p, int) else show(p) for p in shown)
    else:
        text = "[" + ", ".join(map(repr, shown)) + "]"
    more = f" and {len(positions) - n} more" if len(positions) > n else ""
    return f"row{'s' if len(positions) > 1 else ''} {text}{more}"


class InputWarning(UserWarning):
    """Something about the user's data or arguments that works but is likely not what they meant (an
    empty validation set, ...). The R package shows these as R warnings."""


# ----------------------------------------------------------------------------------- arguments
def as_int(name, value, minimum=None):
    "An integer argument: 32 or 32.0 (R's numbers are doubles) pass; 32.5, True or '32' do not."
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)) \
        and math.isfinite(value) and float(value) == int(value) and (minimum is None or int(value) >= minimum)
    if not ok:
        raise ValueError(f"{name} must be a whole number{'' if minimum is None else f' >= {minimum}'}, "
                         f"not {show(value)}")
    return int(value)


def as_number(name, value, minimum=None, maximum=None, exclusive_minimum=False):
    "A finite real argument within bounds; bools, strings and NaN / infinity fail with a message naming it."
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)) \
        and math.isfinite(value)
    if ok and minimum is not None: ok = value > minimum if exclusive_minimum else value >= minimum
    if ok and maximum is not None: ok = value <= maximum
    if not ok:
        bounds = []
        if minimum is not None: bounds.append(f"{'>' if exclusive_minimum else '>='} {minimum}")
        if maximum is not None: bounds.append(f"<= {maximum}")
        raise ValueError(f"{name} must be a finite number{' ' + ' and '.join(bounds) if bounds else ''}, "
                         f"not {show(value)}")
    return float(value)


def check_learner(learn, name="learn"):
    """`learn` when it is a fastai Learner (recognised by its `dls`, `model` and `fit`: this module imports
    no fastai), else a TypeError saying what was passed and what goes there instead."""
    if not isinstance(learn, pd.DataFrame) and all(hasattr(learn, a) for a in ("dls", "model", "fit")): return learn
    what = "a data frame" if isinstance(learn, pd.DataFrame) else f"a {type(learn).__name__}"
    hint = (" (data frames go to the DataLoaders: " + advice("dblock.dataloaders(df)", "dataloaders(dblock, df)")
            + ", which go to Learner())") if isinstance(learn, pd.DataFrame) else ""
    raise TypeError(f"{name} must be a fastai Learner, not {what}{hint}; build one with Learner(dls, model, ...) or "
                    "load an export with load_learner()")


def count(n, noun):
    "'1 row', '3 rows', '1 parameter group'."
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _numbers(name, value, what):
    "`value` (a number, list, array or tensor) as a flat float array, or a TypeError naming `name`."
    if isinstance(value, (str, bytes, bool, np.bool_, dict)):
        raise TypeError(f"{name} must be {what}, not {show(value)}")
    try: values = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=float).reshape(-1)
    except (TypeError, ValueError): raise TypeError(f"{name} must be {what}, not {show(value)}") from None
    if values.size == 0: raise ValueError(f"{name} must be {what}, not an empty {type(value).__name__}")
    return values


def check_lr(name, lr, n_groups):
    """A learning rate as fastai takes it: None (the learner's default), a number, a slice (`slice(1e-5,
    1e-3)`, `slice(1e-3)`) or one number per parameter group; every rate finite and > 0. Returns `lr`."""
    if lr is None: return lr
    example = advice("slice(1e-5, 1e-3)", "slice(1e-5, 1e-3)")
    if isinstance(lr, slice):
        if lr.stop is None or lr.step is not None:
            raise ValueError(f"{name} is {lr}; a slice of learning rates is slice(lowest, highest) or slice(highest), "
                             f"e.g. {example}")
        for part, v in (("start", lr.start), ("stop", lr.stop)):
            if v is not None: as_number(f"{name} (the slice's {part})", v, 0, exclusive_minimum=True)
        return lr
    values = _numbers(name, lr, "a learning rate (a number, a slice or one number per parameter group)")
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        shown = show(values[bad].tolist()) if values.size > 1 else show(float(values[0]))
        raise ValueError(f"{name} must be finite and > 0 (learning rates are typically 1e-5 to 1e-2), not {shown}")
    if values.size not in (1, n_groups):
        raise ValueError(f"{name} has {values.size} learning rates but the model has "
                         f"{count(n_groups, 'parameter group')}; give one number, a slice such as {example} "
                         f"(spread from the first group to the last) or {n_groups} numbers")
    return lr


def check_thresholds(name, thresh, n_labels):
    """Multi-label thresholds as a float vector of `n_labels`: one number for all labels or one per label,
    each a probability in [0, 1]."""
    t = _numbers(name, thresh, "a probability threshold (one number, or one per label)")
    if t.size not in (1, n_labels):
        raise ValueError(f"{name}: got {t.size} thresholds for {n_labels} labels; give one number or one per label")
    bad = ~np.isfinite(t) | (t < 0) | (t > 1)
    if bad.any():
        odd = list(dict.fromkeys(t[bad].tolist()))
        shown = show(odd) if len(odd) > 1 else show(odd[0])
        raise ValueError(f"{name}: thresholds are probabilities and must lie between 0 and 1; got {shown}")
    return np.repeat(t, n_labels) if t.size == 1 else t


def _missing(v):
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def check_texts(texts, name="texts"):
    "`texts` as a list of non-empty strings: a string, or a list/tuple/array/Series of strings."
    if isinstance(texts, str): texts = [texts]
    elif isinstance(texts, pd.DataFrame):
        raise TypeError(f"{name} must be a column of strings, not a DataFrame; pass "
                        + advice("e.g. df['text']", "e.g. df$text"))
    elif not isinstance(texts, (list, tuple, pd.Series, np.ndarray)):
        raise TypeError(f"{name} must be a string or a list/array/Series of strings, not {type(texts).__name__}")
    texts = list(texts)
    if not texts: raise ValueError(f"no {name} given: pass at least one non-empty string")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        first = texts[bad[0]]
        what = "missing (NA)" if _missing(first) else show(first)
        raise ValueError(f"{len(bad)} of the {name} are missing, empty or not strings ({_positions(bad)}; e.g. {what}); "
                         "drop or fill them first, " + advice("e.g. [t for t in texts if t and t.strip()]",
                                                              "e.g. texts[!is.na(texts) & nzchar(trimws(texts))]"))
    return texts


def _positions(idx):
    "Positions in a vector: 'positions [2]' (0-based) or 'positions 3' (1-based, R)."
    return rows(idx).replace("row", "position", 1)


# ------------------------------------------------------------------------------------- columns
def column_names(reader_cols, df):
    "The column names a ColReader's `cols` read from `df`, checking that they exist."
    names = []
    for c in reader_cols:
        if isinstance(c, (int, np.integer)):
            if not -df.shape[1] <= c < df.shape[1]:
                raise ValueError(f"ColReader({c}) reads column position {c} but the data has {df.shape[1]} columns")
            names.append(df.columns[c])
        elif c not in df.columns:
            raise ValueError(f"column {show(c)} is not in the data; its columns are {show(list(df.columns))}. "
                             f"Rename the column or read the right one with ColReader({show('<column>')})")
        else: names.append(c)
    return names


def _n(count, noun):
    "'1 row', '3 rows'."
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _at(mask, df):
    "Row labels of `df` where `mask` holds (positions for R, whose data arrives with a 0-based RangeIndex)."
    return list(df.index[np.asarray(mask)])


def check_not_empty(df):
    if len(df) == 0:
        raise ValueError("the data has zero rows; pass a data frame with at least a few rows for training and "
                         "validation")


def check_text_column(df, col):
    "Every text of column `col` is a non-empty string."
    texts = df[col]
    missing = texts.isna().to_numpy()
    not_str = ~missing & ~texts.map(lambda t: isinstance(t, str)).to_numpy()
    empty = ~missing & ~not_str & (texts.astype(str).str.strip() == "").to_numpy()
    c = show(col)
    fixes = {
        "missing (NA)": advice(f"drop them, e.g. df.dropna(subset=[{c}])", f"drop them, e.g. df[!is.na(df[[{c}]]), ]"),
        "empty": advice(f"drop them, e.g. df[df[{c}].str.strip() != '']",
                        f"drop them, e.g. df[nzchar(trimws(df[[{c}]])), ]"),
        "not strings": advice(f"convert the column, e.g. df[{c}] = df[{c}].astype(str)",
                              f"convert the column, e.g. df[[{c}]] <- as.character(df[[{c}]])"),
    }
    for mask, what in [(missing, "missing (NA)"), (empty, "empty"), (not_str, "not strings")]:
        if mask.any():
            raise ValueError(f"text column {c} has {_n(mask.sum(), 'row')} whose text is {what} "
                             f"({rows(_at(mask, df))}); {fixes[what]}")


def check_one_hot(df, cols, vocab):
    "One 0/1 column per label, as many columns as labels in `vocab`."
    if vocab is not None and len(vocab) != len(cols):
        raise ValueError(f"MultiCategoryBlock(encoded=True) has {len(vocab)} labels in vocab but get_y reads "
                         f"{len(cols)} columns {show(list(cols))}; give one vocab entry per label column")
    values = df[cols]
    bad = [c for c in cols if values[c].isna().any() or
           not pd.Series(values[c].dropna().unique()).isin([0, 1, True, False]).all()]
    if bad:
        c = bad[0]
        odd_mask = values[c].isna() | ~values[c].isin([0, 1, True, False])
        odd = list(dict.fromkeys(values[c][odd_mask].tolist()))[:3]
        fix = advice("round and convert them to integers first (df[cols] = df[cols].round().astype(int)), or drop "
                     "rows with missing labels",
                     "round and convert them to integers first (df[cols] <- lapply(df[cols], function(x) "
                     "as.integer(round(x)))), or drop rows with missing labels")
        raise ValueError(f"label columns {show(bad)} must hold only 0/1 (column {show(c)} has {show(odd)} in "
                         f"{rows(_at(odd_mask, df))}); {fix}")


def check_classes(df, col):
    "A single-label target needs two classes at least: a one-class 'classifier' answers that class with p = 1."
    classes = df[col].dropna().unique()
    if len(classes) == 1:
        raise ValueError(f"label column {show(col)} has one class ({show(classes[0])}) in all {count(len(df), 'row')}; "
                         "a classifier needs rows of at least two classes to learn anything. Add rows of the other "
                         "classes (or check that you read the right label column)")


def check_categories(df, cols, vocab, delim=None):
    "Label columns without missing values, and (with a vocab) no label outside it."
    for c in cols:
        labels = df[c]
        if labels.isna().any():
            raise ValueError(f"label column {show(c)} has {_n(labels.isna().sum(), 'missing (NA) label')} "
                             f"({rows(_at(labels.isna(), df))}); drop or fill those rows")
        if vocab is None: continue
        known = {str(v) for v in vocab}
        split = labels.astype(str).str.split(delim) if delim else labels.astype(str).map(lambda v: [v])
        outside = split.map(lambda ls: any(l not in known for l in ls)).to_numpy()
        if outside.any():
            unknown = sorted({l for ls in split[outside] for l in ls if l not in known})
            raise ValueError(f"label column {show(c)} has labels that are not in the vocab: {show(unknown[:5])} "
                             f"({rows(_at(outside, df))}); add them to vocab= (now {show(list(map(str, vocab))[:10])}) "
                             "or drop those rows")
