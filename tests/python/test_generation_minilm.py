"""The real pretrained MiniLM learns as a masked language model on real GoEmotions texts (domain adaptation):
validation loss and perplexity fall after one short epoch."""
from fastai_hf import (ColReader, CrossEntropyLossFlat, DataBlock, FusedAdam, HF_BaseModelCallback,
                       HF_BaseModelWrapper, HF_LMBlock, HF_Perplexity, Learner, RandomSplitter, get_hf_objects,
                       hf_splitter, load_goemotions, minilm_path, set_seed)


def test_minilm_masked_lm_learns_goemotions_texts():
    df = load_goemotions("ekman", split="train", n_rows=320)[["text"]]
    set_seed(0)
    hf_arch, hf_config, hf_tokenizer, hf_model = get_hf_objects(minilm_path(), task="MaskedLM")
    dls = DataBlock(blocks=HF_LMBlock(hf_arch, hf_config, hf_tokenizer, hf_model, lm_type="masked"),
                    get_x=ColReader("text"), splitter=RandomSplitter(0.2, seed=0)).dataloaders(df, bs=16)
    learn = Learner(dls, HF_BaseModelWrapper(hf_model), opt_func=FusedAdam, loss_func=CrossEntropyLossFlat(),
                    metrics=HF_Perplexity(), cbs=HF_BaseModelCallback(), splitter=hf_splitter)
    with learn.no_bar():
        loss_before, ppl_before = learn.validate()
        with learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
        loss_after, ppl_after = learn.validate()
    print(f"valid loss {loss_before:.3f} -> {loss_after:.3f}; perplexity {ppl_before:.0f} -> {ppl_after:.0f}")
    assert loss_after < 0.8 * loss_before
    assert ppl_after < 0.2 * ppl_before
