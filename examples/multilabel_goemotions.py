"""Multi-label emotion classification with MiniLM on GoEmotions (Ekman's 7 emotions), from Python.

The same flow as the R vignette: HF_TextBlock + MultiCategoryBlock, a Learner with the HF callback
and splitter, head-only training then the whole model, thresholds tuned on dev and judged on test.
Runs offline in a few minutes on 2 CPU cores (4,000 training rows; all 43k take ~10x longer).
"""
import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd
import torch
from fastai_hf import *  # noqa: F403

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--train-rows", type=int, default=4000)
p.add_argument("--eval-rows", type=int, default=1000)
p.add_argument("--epochs", type=int, default=2)
args = p.parse_args()

set_seed(42)
labels = (goemotions_path("ekman") / "labels.txt").read_text().split()
train = load_goemotions("ekman", "train", n_rows=args.train_rows).assign(is_valid=False)
dev = load_goemotions("ekman", "dev", n_rows=args.eval_rows).assign(is_valid=True)
test = load_goemotions("ekman", "test", n_rows=args.eval_rows)
df = pd.concat([train, dev], ignore_index=True)

config = AutoConfig.from_pretrained(minilm_path())
config.num_labels = len(labels)
hf_arch, hf_config, hf_tokenizer, hf_model = get_hf_objects(minilm_path(), task=HF_TASKS_AUTO.SequenceClassification, config=config)

dblock = DataBlock(blocks=[HF_TextBlock(hf_arch=hf_arch, hf_tokenizer=hf_tokenizer),
                           MultiCategoryBlock(encoded=True, vocab=labels)],
                   get_x=ColReader("text"), get_y=ColReader(labels), splitter=ColSplitter("is_valid"))
dls = dblock.dataloaders(df, bs=32)
print(f"{len(dls.train_ds)} training and {len(dls.valid_ds)} validation texts; a batch:")
dls.show_batch(max_n=3)

learn = Learner(dls, HF_BaseModelWrapper(hf_model), opt_func=FusedAdam, loss_func=BCEWithLogitsLossFlat(),
                metrics=[partial(accuracy_multi, thresh=0.3), F1ScoreMulti(average="macro", thresh=0.3)],
                cbs=HF_BaseModelCallback(), splitter=hf_splitter)
learn.freeze()
learn.fit_one_cycle(1, 1e-3)          # the new head first
learn.unfreeze()
learn.fit_one_cycle(args.epochs, slice(2e-5, 2e-4))  # then all layers, lower rates for lower layers

thresholds = find_thresholds(learn, apply=True)       # tuned on dev ...
print("\nper-label thresholds tuned on dev:\n", thresholds.to_string(index=False))
test_dl = learn.dls.test_dl(test, with_labels=True)   # ... judged on unseen test rows
for name, thresh in [("threshold 0.5", 0.5), ("tuned thresholds", None)]:
    m = multilabel_metrics(learn, dl=test_dl, thresh=thresh)
    print(f"test, {name:16}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items()))

text = "Thank you so much, this is the best news I have had all year!"
labels_, _, probs = learn.predict(text)
print(f"\n{text!r}\n-> {list(labels_)}  ({', '.join(f'{l} {p:.2f}' for l, p in zip(labels, probs.tolist()))})")
