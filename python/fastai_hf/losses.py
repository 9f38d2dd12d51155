"""Losses that are not one task family's: `MultiTargetLoss` sums one loss per prediction/target pair
(extractive QA's start and end positions; any model with several heads). A leaf beside `checks.py`,
so a data block can name its default loss without importing the models."""
from fastai.losses import CrossEntropyLossFlat
from fastai.torch_core import Module


class MultiTargetLoss(Module):
    """One loss per prediction/target pair, weighted and summed (blurr's): for QA, cross-entropies of the
    start and of the end positions. `reduction` reaches every loss (fastai sets it to 'none' for
    `get_preds(with_loss=True)`); `activation` and `decodes` apply each loss's own."""
    def __init__(self, loss_classes=(CrossEntropyLossFlat, CrossEntropyLossFlat), loss_classes_kwargs=None,
                 weights=(1, 1), reduction="mean"):
        kwargs = loss_classes_kwargs or [{} for _ in loss_classes]
        if not (len(loss_classes) == len(kwargs) == len(weights)):
            raise ValueError(f"MultiTargetLoss needs as many loss_classes_kwargs and weights as loss_classes; got "
                             f"{len(loss_classes)}, {len(kwargs)} and {len(weights)}")
        self.loss_funcs = [cls(reduction=reduction, **kw) for cls, kw in zip(loss_classes, kwargs)]
        self.weights = [float(w) for w in weights]
        self._reduction = reduction

    @property
    def reduction(self): return self._reduction

    @reduction.setter
    def reduction(self, v):
        self._reduction = v
        for lf in self.loss_funcs: lf.reduction = v

    def forward(self, outputs, *targets):
        if len(outputs) != len(self.loss_funcs) or len(targets) < len(self.loss_funcs):
            raise ValueError(f"MultiTargetLoss has {len(self.loss_funcs)} losses but got {len(outputs)} predictions and "
                             f"{len(targets)} targets")
        return sum(w * lf(o, t) for w, lf, o, t in zip(self.weights, self.loss_funcs, outputs, targets))

    def activation(self, outs): return [lf.activation(o) for lf, o in zip(self.loss_funcs, outs)]

    def decodes(self, outs): return [lf.decodes(o) for lf, o in zip(self.loss_funcs, outs)]
