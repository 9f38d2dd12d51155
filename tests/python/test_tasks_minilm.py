"""The real pretrained MiniLM learns both task families on a few hundred real rows: CoNLL-2003 NER and
SQuAD questions. Each test keeps to ~30 s on 2 quiet cores."""
import numpy as np
import pandas as pd
from fastai_hf import (HF_TASKS_AUTO, AutoConfig, ColReader, ColSplitter, DataBlock, FusedAdam, HF_AnswerBlock,
                       HF_BaseModelCallback, HF_BaseModelWrapper, HF_QABlock, HF_TokenCategoryBlock, HF_TokenClassBlock,
                       Learner, conll2003_labels, entity_metrics, get_hf_objects, hf_splitter, load_conll2003, load_squad,
                       minilm_path, set_seed, squad_metrics, token_metrics)
from fastai_hf.modeling.qa import squad_f1


def test_minilm_learns_named_entities():
    set_seed(0)
    labels = conll2003_labels()
    train, valid = load_conll2003("train", n_rows=800), load_conll2003("valid", n_rows=100)
    df = pd.concat([train.assign(is_valid=False), valid.assign(is_valid=True)], ignore_index=True)
    config = AutoConfig.from_pretrained(minilm_path())
    config.num_labels = len(labels)
    arch, _, tok, model = get_hf_objects(minilm_path(), task=HF_TASKS_AUTO.TokenClassification, config=config)
    dls = DataBlock(blocks=[HF_TokenClassBlock(hf_arch=arch, hf_tokenizer=tok), HF_TokenCategoryBlock(vocab=labels)],
                    get_x=ColReader("tokens"), get_y=ColReader("tags"), splitter=ColSplitter()).dataloaders(df, bs=16)
    learn = Learner(dls, HF_BaseModelWrapper(model), opt_func=FusedAdam, cbs=HF_BaseModelCallback(),
                    splitter=hf_splitter, metrics=entity_metrics())
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 5e-4)
    m = token_metrics(learn)
    print(f"CoNLL-2003, 800 sentences, 2 epochs: {m}")
    # Tagging every word O (the commonest tag, 80% of these words) scores entity F1 0 and accuracy 0.80.
    assert m["f1"] > 0.35 and m["accuracy"] > 0.85


def test_minilm_learns_to_answer_questions():
    set_seed(0)
    train, valid = load_squad("train"), load_squad("valid")
    # 240 questions on paragraphs of under 600 characters: one window of 160 tokens each
    train, valid = train[train.context.str.len() < 600].head(240), valid[valid.context.str.len() < 600].head(80)
    df = pd.concat([train.assign(is_valid=False), valid.assign(is_valid=True)], ignore_index=True)
    arch, _, tok, model = get_hf_objects(minilm_path(), task=HF_TASKS_AUTO.QuestionAnswering)
    dls = DataBlock(blocks=[HF_QABlock(hf_arch=arch, hf_tokenizer=tok, max_length=160, stride=48), HF_AnswerBlock()],
                    get_x=ColReader(["question", "context"]), get_y=ColReader(["answer_text", "answer_start"]),
                    splitter=ColSplitter()).dataloaders(df, bs=16)
    learn = Learner(dls, HF_BaseModelWrapper(model), opt_func=FusedAdam, cbs=HF_BaseModelCallback(), splitter=hf_splitter)
    before = squad_metrics(learn)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 3e-4)
    after = squad_metrics(learn)
    # a trivial reader: the first four words of the context
    first_words = np.mean([squad_f1(" ".join(c.split()[:4]), a) for c, a in zip(valid.context, valid.answer_text)]) * 100
    print(f"SQuAD, 240 questions, 2 epochs: F1 {before['f1']:.1f} -> {after['f1']:.1f} (first four words: {first_words:.1f})")
    assert after["f1"] > before["f1"] + 4 and after["f1"] > first_words + 5
