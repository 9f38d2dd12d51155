"""Test helpers shared by pytest and testthat: a tiny BERT and a tiny RoBERTa that train in seconds on a CPU."""
import os
import tempfile

from transformers import AutoTokenizer, BertConfig, BertModel

from .hub import minilm_path

__all__ = ["tiny_bert", "tiny_roberta", "tiny_tokenizer", "tiny_t5", "tiny_bart", "tiny_gpt2"]


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


_NER_QA_CORPUS = ["EU rejects German call to boycott British lamb .", "Peter Blackburn", "BRUSSELS 1996-08-22",
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
    bpe.train_from_iterator(list(corpus or _NER_QA_CORPUS), trainer)
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


# ---------------------------------------------------------------------------------------------------
# Tiny generative models (seq2seq, causal and masked LMs) with tokenizers trained at test time
# ---------------------------------------------------------------------------------------------------
_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore, and he buys them at 3 o'clock!",
    "What a lovely day: the sun is out; the birds sing (loudly) and the cat sleeps.",
    "#Person1#: Excuse me, where is the visa office?\n#Person2#: Yes, I'll walk you there.",
    "Two young men are outside near many bushes. A dog runs in the park with a red ball.",
    "I love this so much, thank you! That's the worst idea I've ever heard... Really? Wow.",
    "Zwei junge Männer sind im Freien. Ein Hund läuft im Park mit einem roten Ball.",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 \"'`~@$%^&*-_=+[]{}|\\/<>,.?:;",
]


def _train_corpus(texts=None):
    "The built-in corpus (every ASCII character appears) repeated, plus `texts`."
    return _CORPUS * 20 + list(texts or [])


def tiny_tokenizer(kind, texts=None, vocab_size=400):
    """A tokenizer of the kind a model family ships, trained in about a second: "bart" (byte-level BPE
    with <s> </s> <pad> <unk> <mask>, RoBERTa/BART style), "gpt2" (the same BPE, <|endoftext|> only, no
    pad token, as GPT-2's) or "t5" (a Unigram model with <pad> </s> <unk>, as T5's)."""
    import json

    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BartTokenizer, GPT2Tokenizer, T5Tokenizer
    corpus = _train_corpus(texts)
    if kind in ("bart", "gpt2"):
        bpe = Tokenizer(models.BPE())
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] if kind == "bart" else ["<|endoftext|>"]
        bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        model = json.loads(bpe.to_str())["model"]
        merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
        cls = BartTokenizer if kind == "bart" else GPT2Tokenizer
        return cls(vocab=model["vocab"], merges=merges)
    if kind == "t5":
        uni = Tokenizer(models.Unigram())
        uni.normalizer = normalizers.NFKC()
        uni.pre_tokenizer = pre_tokenizers.Metaspace()
        uni.train_from_iterator(corpus, trainers.UnigramTrainer(vocab_size=vocab_size, unk_token="<unk>",
                                                                special_tokens=["<pad>", "</s>", "<unk>"]))
        vocab = [tuple(v) for v in json.loads(uni.to_str())["model"]["vocab"]]
        return T5Tokenizer(vocab=vocab, extra_ids=0)
    raise ValueError(f"kind must be 'bart', 'gpt2' or 't5', not {kind!r}")


def _save(model, tok, path, prefix):
    path = path or tempfile.mkdtemp(prefix=prefix)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def tiny_t5(path=None, hidden=32, layers=2, seed=0, texts=None):
    "Save a randomly initialised 2-layer T5 (encoder and decoder) with a tokenizer trained at test time; return the folder."
    import torch
    from transformers import T5Config, T5ForConditionalGeneration
    tok = tiny_tokenizer("t5", texts)
    cfg = T5Config(vocab_size=len(tok), d_model=hidden, d_ff=2 * hidden, d_kv=hidden // 2, num_layers=layers,
                   num_decoder_layers=layers, num_heads=2, pad_token_id=tok.pad_token_id,
                   eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    return _save(T5ForConditionalGeneration(cfg), tok, path, "tiny-t5-")


def tiny_bart(path=None, hidden=32, layers=2, seed=0, texts=None):
    "Save a randomly initialised 2-layer BART with a byte-level BPE tokenizer trained at test time; return the folder."
    import torch
    from transformers import BartConfig, BartForConditionalGeneration
    tok = tiny_tokenizer("bart", texts)
    cfg = BartConfig(vocab_size=len(tok), d_model=hidden, encoder_layers=layers, decoder_layers=layers,
                     encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=2 * hidden,
                     decoder_ffn_dim=2 * hidden, max_position_embeddings=256, pad_token_id=tok.pad_token_id,
                     bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                     decoder_start_token_id=tok.eos_token_id, forced_eos_token_id=tok.eos_token_id)
    torch.manual_seed(seed)
    return _save(BartForConditionalGeneration(cfg), tok, path, "tiny-bart-")


def tiny_gpt2(path=None, hidden=32, layers=2, seed=0, texts=None):
    """Save a randomly initialised 2-layer GPT-2 with a byte-level BPE tokenizer trained at test time
    (no pad token, as GPT-2's); return the folder."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    tok = tiny_tokenizer("gpt2", texts)
    cfg = GPT2Config(vocab_size=len(tok), n_embd=hidden, n_layer=layers, n_head=2, n_positions=256,
                     bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(seed)
    return _save(GPT2LMHeadModel(cfg), tok, path, "tiny-gpt2-")
