"""Test helpers shared by pytest and testthat: a tiny BERT and a tiny RoBERTa that train in seconds on a CPU."""
import os
import tempfile

from transformers import AutoTokenizer, BertConfig, BertModel

from .hub import minilm_path

__all__ = ["tiny_bert", "tiny_roberta"]


def tiny_bert(path=None, layers=2, hidden=32, seed=0):
    """Save a randomly initialised 2-layer BERT with MiniLM's real vocabulary (and tokenizer) to
    `path` (default: a new temp folder) and return the folder. It is saved as a bare `BertModel`,
    like a pretrained checkpoint, so `get_hf_objects` adds a fresh head."""
    import torch
    path = path or tempfile.mkdtemp(prefix="tiny-bert-")
    tok = AutoTokenizer.from_pretrained(minilm_path())
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                     intermediate_size=2 * hidden, max_position_embeddings=512)
    torch.manual_seed(seed)
    BertModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


_CORPUS = ["EU rejects German call to boycott British lamb .", "Peter Blackburn", "BRUSSELS 1996-08-22",
           "The European Commission said on Thursday it disagreed with German advice to consumers.",
           "Germany 's representative to the European Union 's veterinary committee Werner Zwingmann said",
           "Who wrote the book? It was written by Ada Lovelace in London in 1843.",
           "Washington is the capital of the United States of America, and Paris is the capital of France."]


def tiny_roberta(path=None, corpus=None, vocab_size=600, layers=2, hidden=32, seed=0):
    """Save a randomly initialised 2-layer RoBERTa and a byte-level BPE tokenizer trained on `corpus`
    (a list of texts; default a few sentences) to `path` (default: a new temp folder) and return the
    folder: a second architecture family whose tokenizer has no '##' pieces, marks words with 'Ġ' and
    needs `add_prefix_space=True` for pre-split words. Saved as a bare `RobertaModel`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    path = path or tempfile.mkdtemp(prefix="tiny-roberta-")
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(list(corpus or _CORPUS), trainer)
    bpe.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False, trim_offsets=True)
    file = os.path.join(tempfile.mkdtemp(prefix="bpe-"), "tokenizer.json")
    bpe.save(file)
    tok = RobertaTokenizerFast(tokenizer_file=file, model_max_length=512)
    cfg = RobertaConfig(vocab_size=bpe.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=514,
                        pad_token_id=1, bos_token_id=0, eos_token_id=2)
    torch.manual_seed(seed)
    RobertaModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)
