"""Test helpers shared by pytest and testthat: a tiny BERT that trains in seconds on a CPU."""
import tempfile

from transformers import AutoTokenizer, BertConfig, BertModel

from .hub import minilm_path

__all__ = ["tiny_bert"]


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
