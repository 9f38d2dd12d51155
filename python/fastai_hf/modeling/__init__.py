"""Modeling, one module per task family (blurr's layout): `core` holds what every family shares."""
from .core import (HF_BaseModelCallback, HF_BaseModelWrapper, hf_splitter, prediction_of, problem_type, sync_config,
                   wrapper_of)
