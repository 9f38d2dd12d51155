"""The Python half of bench/r_overhead.R: the same learner, training and prediction, written in
Python, called from the R benchmark so that both run in one process on the same data and model.

Not a test. Each function mirrors one step of the R flow in r_overhead.R line for line.
"""
import time

from fastai_hf import (Adam, BCEWithLogitsLossFlat, ColReader, DataBlock, HF_BaseModelCallback,
                       HF_BaseModelWrapper, HF_TextBlock, Learner, MultiCategoryBlock, RandomSplitter,
                       accuracy_multi, get_hf_objects, hf_splitter, load_goemotions, partial, set_seed)
from fastai_hf.hub import AutoConfig

LABELS = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]


def goemotions(n_rows):
    "The benchmark's rows as pandas: text plus the 7 Ekman 0/1 columns."
    return load_goemotions("ekman", n_rows=n_rows)[["text", *LABELS]]


def make_learner(df, model_path, bs=8, seed=42):
    "The R benchmark's learner, built in Python: same blocks, splitter seed, loss, metric, callbacks."
    set_seed(seed)
    config = AutoConfig.from_pretrained(model_path)
    config.num_labels = len(LABELS)
    arch, _, tok, model = get_hf_objects(model_path, config=config)
    dblock = DataBlock(blocks=[HF_TextBlock(hf_arch=arch, hf_tokenizer=tok), MultiCategoryBlock(encoded=True, vocab=LABELS)],
                       get_x=ColReader("text"), get_y=ColReader(LABELS), splitter=RandomSplitter(seed=seed))
    dls = dblock.dataloaders(df, bs=bs)
    learn = Learner(dls, HF_BaseModelWrapper(model), opt_func=partial(Adam), loss_func=BCEWithLogitsLossFlat(),
                    metrics=partial(accuracy_multi, thresh=0.2), cbs=HF_BaseModelCallback(), splitter=hf_splitter)
    learn.create_opt()
    learn.freeze()
    return learn


def train(learn, epochs=1, lr_max=1e-2, seed=42):
    "Seconds for `learn.fit_one_cycle(epochs, lr_max)` (fastprogress prints to stdout, as in a script)."
    set_seed(seed)
    t0 = time.perf_counter()
    learn.fit_one_cycle(epochs, lr_max=lr_max)
    return time.perf_counter() - t0


def predict_times(learn, text, n=30):
    "Seconds of each of `n` calls of `learn.predict(text)`, after one warm-up call."
    learn.predict(text)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        learn.predict(text)
        out.append(time.perf_counter() - t0)
    return out


if __name__ == "__main__":
    # The same Python path in a standalone Python process (no R around it), for reference:
    #   python bench/r_overhead.py ROWS REPEATS PREDICT_CALLS  ->  JSON on stdout
    import contextlib
    import io
    import json
    import statistics
    import sys

    from fastai_hf import minilm_path

    given = [int(a) for a in sys.argv[1:4]]
    rows, repeats, calls = given + [800, 3, 30][len(given):]
    model_path, df = minilm_path(), goemotions(rows)
    with contextlib.redirect_stdout(io.StringIO()):  # progress bars off the JSON
        train(make_learner(goemotions(64), model_path))  # warm-up, as in the R script
        times = [train(make_learner(df, model_path)) for _ in range(repeats)]
        learn = make_learner(df, model_path)
        train(learn)
        learn.loss_func.thresh = 0.02
        pred = predict_times(learn, "Those damned affluent white people should only eat their own food, like cod "
                             "cakes and boiled potatoes.", calls)
    print(json.dumps({"train_seconds": times, "train_median": statistics.median(times),
                      "predict_ms_median": 1000 * statistics.median(pred)}))
