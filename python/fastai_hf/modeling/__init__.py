"""Modeling, one module per task family (blurr's layout): `core` holds what every family shares."""
from .core import (HF_BaseModelCallback, HF_BaseModelWrapper, hf_splitter, prediction_of, problem_type, sync_config,
                   wrapper_of)
from .seq2seq import (HF_Seq2SeqMetricsCallback, HF_SummarizationModelCallback, calculate_bleu, calculate_chrf,
                      calculate_rouge, generate_texts, get_hf_encoder_decoder, hf_generate)
from .lm import HF_Perplexity, hf_fill_mask
from .tokens import (EntityF1, EntityPrecision, EntityRecall, TokenAccuracy, entity_metrics, entity_report,
                     predict_tokens, token_metrics)
from .qa import (HF_QstAndAnsModelCallback, MultiTargetLoss, SquadExactMatch, SquadF1, predict_qa, squad_exact_match,
                 squad_f1, squad_metrics)
