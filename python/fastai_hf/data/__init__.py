"""Data, one module per task family (blurr's layout): `core` holds what every family shares."""
from .core import (DataBlock, HF_BeforeBatchTransform, HF_TextDL, HF_TextInput, check_source, hf_tokenizer_of,
                   is_tokenizer, target_kind, text_columns)
from .classification import HF_TextBlock
from .seq2seq import (HF_Seq2SeqBeforeBatchTransform, HF_Seq2SeqBlock, HF_Seq2SeqTarget, HF_Seq2SeqTargetBlock,
                      HF_TargetTextDL, HF_Text2TextBlock)
from .lm import (HF_CausalLMBeforeBatchTransform, HF_LMBeforeBatchTransform, HF_LMBlock, HF_LMInput,
                 HF_MLMBeforeBatchTransform)
from .tokens import (HF_TokenCategorize, HF_TokenCategoryBlock, HF_TokenClassBatchTransform,
                     HF_TokenClassBeforeBatchTransform, HF_TokenClassBlock, HF_TokenClassDL, HF_TokenClassInput,
                     HF_TokenTensorCategory, align_word_labels, tag_vocab, words_from_long)
