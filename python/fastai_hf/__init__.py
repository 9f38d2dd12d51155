"""fastai_hf: Hugging Face transformers trained with fastai's Learner (blurr's HF_* API, rebuilt).

`from fastai_hf import *` gives fastai's text API (`fastai.text.all`) plus the HF_* layer.
"""
from . import _torchvision  # noqa: F401  (first: hides a broken torchvision before transformers imports it)
import os as _os

_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # batches are tokenized in the main process

from fastai.text.all import *  # noqa: E402,F401,F403  (the fastai API users script against)

from .hub import HF_TASKS_ALL, HF_TASKS_AUTO, AutoConfig, get_hf_objects, minilm_path  # noqa: E402
from .data import (DataBlock, HF_BeforeBatchTransform, HF_TextBlock, HF_TextDL, HF_TextInput,  # noqa: E402
                   check_source)
from .data.tokens import (HF_TokenCategorize, HF_TokenCategoryBlock, HF_TokenClassBatchTransform,  # noqa: E402
                          HF_TokenClassBeforeBatchTransform, HF_TokenClassBlock, HF_TokenClassDL, HF_TokenClassInput,
                          HF_TokenTensorCategory, words_from_long)
from .data.qa import (HF_AnswerBlock, HF_AnswerSpan, HF_QABatchTransform, HF_QABeforeBatchTransform,  # noqa: E402
                      HF_QABlock, HF_QADL, HF_QuestionAnswerInput)
from .modeling import HF_BaseModelCallback, HF_BaseModelWrapper, hf_splitter  # noqa: E402
from .data import (HF_CausalLMBeforeBatchTransform, HF_LMBeforeBatchTransform, HF_LMBlock,  # noqa: E402
                   HF_MLMBeforeBatchTransform, HF_Seq2SeqBeforeBatchTransform, HF_Seq2SeqBlock,
                   HF_Seq2SeqTargetBlock, HF_Text2TextBlock)
from .modeling import (HF_Perplexity, HF_Seq2SeqMetricsCallback, HF_SummarizationModelCallback,  # noqa: E402
                       calculate_bleu, calculate_chrf, calculate_rouge, get_hf_encoder_decoder, hf_fill_mask,
                       hf_generate)  # generation and fill-mask predictors register themselves with predict.py
from .corpora import load_dialogsum, load_multi30k  # noqa: E402
from .modeling.tokens import (EntityF1, EntityPrecision, EntityRecall, TokenAccuracy, entity_metrics,  # noqa: E402
                              entity_report, predict_tokens, token_metrics)
from .modeling.qa import (HF_QstAndAnsModelCallback, MultiTargetLoss, SquadExactMatch, SquadF1, predict_qa,  # noqa: E402
                          squad_metrics)
from .optim import Adam, FusedAdam, use_as_learner_default  # noqa: E402  (fastai's Adam, fused kernel; replaces fastai's name)
from .precision import MixedPrecision, cpu_bf16_support  # noqa: E402  (also patches Learner.to_bf16: bf16 on CPUs)
from .predict import hf_predict, predict_texts  # noqa: E402  (also patches Learner.predict for HF learners)
from .metrics import find_thresholds, multilabel_metrics  # noqa: E402
from .export import hf_load_learner, hf_save_pretrained, model_card, register_export, register_metric  # noqa: E402,E501  (no-pickle folders)
from .saving import load_learner  # noqa: E402  (also makes export/save/save_encoder transactional)
from .schedule import linear_sched  # noqa: E402  (also adds Learner.fit_linear, the HF Trainer's schedule)
from .training import n_param_groups  # noqa: E402  (also checks the arguments of the fit methods and freeze_to)
from .checks import InputWarning  # noqa: E402
from .datasets import HF_load_dataset  # noqa: E402
from .goemotions import goemotions_path, load_goemotions  # noqa: E402
from .tasks_data import conll2003_labels, load_conll2003, load_squad  # noqa: E402
from .features import hf_hidden_states  # noqa: E402
from .history import HistoryCallback, history_df, loss_curve, run_record, run_record_df  # noqa: E402
from .interpret import (confidence_df, confusion_matrix_df, interpretation, plot_confusion_matrix,  # noqa: E402
                        top_losses_df)
from .show import show_batch_df, show_results_df  # noqa: E402
from .ulmfit import (awd_lstm_config, language_model_learner, lm_predict, numericalize_tokens,  # noqa: E402
                     proc_rules, spec_tokens, text_classifier_learner, text_tokens, text_vocab)

use_as_learner_default()  # Learner(...) without opt_func gets the fused Adam too
del use_as_learner_default

from .version import __version__  # noqa: E402
