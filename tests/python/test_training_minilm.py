"""The real pretrained MiniLM learns on real data: a few hundred single-label GoEmotions rows."""
from helpers import make_learner
from fastai_hf import load_goemotions, minilm_path


def test_minilm_learns_emotions():
    df = load_goemotions("ekman", split="train", n_rows=640, single_label=True)
    learn = make_learner(minilm_path(), df, multi=False, bs=16)
    train, valid = learn.dls.train_ds.tls[0].items, learn.dls.valid_ds.tls[0].items
    with learn.no_bar():
        loss_before = learn.validate()[0]
        with learn.no_logging(): learn.fit_one_cycle(2, 1e-4)
        loss_after = learn.validate()[0]
    accuracy = (learn.hf_predict(valid["text"])["predicted"].to_numpy() == valid["label"].to_numpy()).mean()
    majority = (valid["label"] == train["label"].mode()[0]).mean()  # always predicting the commonest label
    print(f"valid loss {loss_before:.3f} -> {loss_after:.3f}; accuracy {accuracy:.3f} vs majority {majority:.3f}")
    assert loss_after < 0.85 * loss_before
    assert accuracy > majority + 0.05
