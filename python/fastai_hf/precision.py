"""Mixed precision on every device: `to_bf16()` uses the CPU's bf16 instructions where it has them.

fastai's `MixedPrecision` always opens a CUDA autocast region, which torch disables (with a warning)
when there is no GPU, so fastai's `to_bf16()` trains in fp32 on a CPU. Recent x86 CPUs (AVX512-BF16,
AMX) and ARMv8.6+ (BF16) compute bf16 matrix products natively, and a transformer step runs ~1.3x
faster (MiniLM, bs 16) under `torch.autocast("cpu", dtype=torch.bfloat16)`.

`Learner.to_bf16()` (patched here) adds this module's `MixedPrecision`, fastai's callback with one
change: when the model sits on the CPU, bf16 mode opens a CPU autocast region instead. The weights,
their gradients and the optimizer state stay fp32 (autocast only computes the matrix products and
other autocast-listed ops in bf16: fp32 master weights), no grad scaler is needed (bf16 has fp32's
range), and predictions come back as fp32. On a CUDA device it is fastai's callback, unchanged.
`to_fp16()` keeps fastai's path (CUDA only), `to_fp32()` removes either.

On a CPU without bf16 instructions (bf16 there is emulated and slower than fp32), `to_bf16()` says
so once per process, in words, and the learner stays fp32. `cpu_bf16_support()` is the detection:
the CPU flags `avx512_bf16` / `amx_bf16` (x86) or `bf16` (ARM) in /proc/cpuinfo, or macOS's
`hw.optional.arm.FEAT_BF16`.
"""
import contextlib
import functools
import subprocess
import sys
import warnings

import torch
from fastai.callback.fp16 import AMPMode
from fastai.callback.fp16 import MixedPrecision as _FastaiMixedPrecision
from fastai.learner import Learner
from fastai.torch_core import default_device
from fastcore.basics import patch
from fastcore.foundation import L

from .checks import InputWarning

__all__ = ["MixedPrecision", "cpu_bf16_support", "bf16_refusal", "inference_autocast", "learner_device"]

_X86_FLAGS = ("avx512_bf16", "amx_bf16")


def _cpuinfo_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"): return set(value.split())
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=None)
def cpu_bf16_support():
    """`(supported, how)`: whether this CPU computes bf16 natively, and what that was read from."""
    flags = _cpuinfo_flags()
    if flags is not None:
        found = [f for f in (*_X86_FLAGS, "bf16") if f in flags]
        if found: return True, f"/proc/cpuinfo lists {', '.join(found)}"
        return False, "/proc/cpuinfo lists none of avx512_bf16, amx_bf16 (x86) or bf16 (ARM)"
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "hw.optional.arm.FEAT_BF16"], capture_output=True, text=True,
                                 timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out == "1": return True, "sysctl hw.optional.arm.FEAT_BF16 = 1"
        return False, "this Mac's processor has no bf16 instructions (hw.optional.arm.FEAT_BF16)"
    return False, "the CPU's instruction set could not be read on this system"


def learner_device(learn):
    "The device a learner trains on: its DataLoaders' (what fastai moves the model to), else the model's."
    dev = getattr(getattr(learn, "dls", None), "device", None)
    if dev is None:
        p = next(iter(learn.model.parameters()), None)
        dev = p.device if p is not None else default_device()
    return torch.device(dev)


def bf16_refusal():
    "Why this CPU stays fp32 under `to_bf16()` (a sentence), or None where it supports bf16."
    ok, how = cpu_bf16_support()
    if ok: return None
    return ("to_bf16(): this CPU has no bfloat16 instructions (" + how + "), so bf16 would be emulated and "
            "slower than fp32; the learner keeps training and predicting in fp32. On a GPU, to_bf16() uses "
            "fastai's CUDA mixed precision.")


_said = False


def _say_once(msg):
    global _said
    if _said: return
    _said = True
    warnings.warn(msg, InputWarning, stacklevel=3)  # R shows it as an R warning (r/output.r_warnings)


class MixedPrecision(_FastaiMixedPrecision):
    """fastai's `MixedPrecision`; in bf16 mode on a CPU it autocasts to bf16 on the CPU (where the CPU
    has bf16 instructions; fp32 otherwise) instead of opening a CUDA region torch would disable."""

    def before_fit(self):
        if self.amp_mode != AMPMode.BF16 or _model_device(self.learn).type != "cpu": return super().before_fit()
        self.autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_bf16_support()[0])
        self.learn.scaler, self.scales = torch.amp.GradScaler("cpu", enabled=False), L()


def _model_device(learn):
    p = next(iter(learn.model.parameters()), None)
    return p.device if p is not None else learner_device(learn)


@patch
def to_bf16(self: Learner):
    """bfloat16 mixed precision: fastai's on CUDA; on a CPU, bf16 autocast where the CPU has bf16
    instructions, else fp32 (said once). Weights stay fp32 (see `fastai_hf.precision`)."""
    if learner_device(self).type == "cpu":
        msg = bf16_refusal()
        if msg: _say_once(msg)
    self.remove_cbs([cb for cb in self.cbs if isinstance(cb, _FastaiMixedPrecision)])
    return self.add_cb(MixedPrecision(amp_mode=AMPMode.BF16))


def inference_autocast(learn, device=None):
    """The autocast region a learner's predictions run in: the one its mixed-precision callback
    trains with (bf16 on a supporting CPU; fp16/bf16 on CUDA), else none."""
    cb = next((c for c in learn.cbs if isinstance(c, _FastaiMixedPrecision)), None)
    if cb is None: return contextlib.nullcontext()
    device = torch.device(device) if device is not None else _model_device(learn)
    bf16 = AMPMode(cb.amp_mode) == AMPMode.BF16
    if device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16 and cpu_bf16_support()[0])
    if device.type == "cuda": return torch.autocast("cuda", dtype=torch.bfloat16 if bf16 else torch.float16)
    return contextlib.nullcontext()

