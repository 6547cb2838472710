"""Albumentations pipelines for training and evaluation, built from the ``data.augment`` config dict.

Train (ERFNet's reference recipe, docs/paper.md section 5, plus optional extras): resize to the eval
input size so train and eval see objects at the same scale, optional random rescale, pad/crop to
``train_hw`` (labels padded with 255 so padding is ignored by the loss), horizontal flip, the +-2 px
translation of erfnet_pytorch, optional photometric jitter, normalize. Eval: image resized (bilinear) to
``input_hw`` and label resized (nearest) to ``label_hw``, or by a scale of its stored size (1: the Cityscapes
benchmark's full 2048x1024 ground truth; 0.5: the paper's, ground truth subsampled by 2, docs/paper.md
section 3), which need not match the input.

Every step can be switched off from config; unknown keys are rejected so a typo cannot silently disable
an augmentation.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import torch

from ..common.scores import IGNORE_INDEX
from ..errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# ERFNet's recipe: flip + translate, no rescale, no colour jitter. The extras are off unless configured.
DEFAULT_AUGMENT = {
    "hflip": True,
    "translate_px": 2,
    "scale": [1.0, 1.0],
    "jitter": {"enabled": False, "brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.02},
}


def parse_hw(value, key):
    try:
        h, w = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"data.{key}={value!r} is invalid; expected [height, width], e.g. [128, 256]") from None
    if h < 8 or w < 8:
        raise ConfigError(f"data.{key}={value!r} is too small; expected both sides >= 8 pixels")
    return h, w


def merge_augment(augment) -> dict:
    """DEFAULT_AUGMENT overridden by ``augment`` (a dict or OmegaConf node); unknown keys raise."""
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_AUGMENT.items()}
    for key, value in dict(augment or {}).items():
        if key not in cfg:
            raise ConfigError(f"data.augment.{key} is not a known augmentation; expected one of {sorted(cfg)}")
        if key == "jitter":
            if value is None or value is False:
                value = {"enabled": False}
            unknown = set(dict(value)) - set(cfg["jitter"])
            if unknown:
                raise ConfigError(f"data.augment.jitter has unknown keys {sorted(unknown)}; "
                                  f"expected a subset of {sorted(cfg['jitter'])}")
            cfg["jitter"].update(dict(value))
        else:
            cfg[key] = value
    if cfg["scale"] is None:
        cfg["scale"] = [1.0, 1.0]
    lo, hi = (float(s) for s in cfg["scale"])
    if not 0 < lo <= hi:
        raise ConfigError(f"data.augment.scale={cfg['scale']!r} is invalid; expected [min, max] with 0 < min <= max")
    cfg["scale"] = [lo, hi]
    return cfg


class PairTransform:
    """Callable (image uint8 HxWx3, trainId label uint8 HxW) -> (float tensor 3xHxW, long tensor HxW)."""

    def __init__(self, image_ops, label_hw=None, mean=IMAGENET_MEAN, std=IMAGENET_STD, label_scale=None):
        ops = list(image_ops) + [A.Normalize(mean=tuple(mean), std=tuple(std), max_pixel_value=255.0)]
        self.compose = A.Compose(ops)
        self.label_hw, self.label_scale = label_hw, label_scale

    def reseed(self, seed: int) -> None:
        """Albumentations keeps its own generators; the dataset sets them from each sample's seed
        (data/sampling.py), so a sample's augmentation does not depend on which worker loads it."""
        self.compose.set_random_seed(int(seed) % 2**32)

    def __call__(self, image: np.ndarray, label: np.ndarray):
        if self.label_hw is None and self.label_scale is None:
            out = self.compose(image=image, mask=label)
            img, lab = out["image"], out["mask"]
        else:  # eval: the label goes straight from its stored size to label_hw, one nearest resize only
            img, lab = self.compose(image=image)["image"], label
            hw = self.label_hw if self.label_scale is None else scaled_hw(label.shape, self.label_scale)
            if lab.shape[:2] != tuple(hw):
                lab = cv2.resize(lab, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)
        return (torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float(),
                torch.tensor(lab, dtype=torch.long))  # a copy: the dataset's decoded label is read-only


def build_train_transform(train_hw, input_hw, augment=None, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> PairTransform:
    th, tw = parse_hw(train_hw, "train_hw")
    ih, iw = parse_hw(input_hw, "input_hw")
    cfg = merge_augment(augment)
    ops = [A.Resize(ih, iw, interpolation=cv2.INTER_AREA, mask_interpolation=cv2.INTER_NEAREST)]
    lo, hi = cfg["scale"]
    if (lo, hi) != (1.0, 1.0):
        ops.append(A.RandomScale(scale_limit=(lo - 1.0, hi - 1.0), interpolation=cv2.INTER_LINEAR,
                                 mask_interpolation=cv2.INTER_NEAREST, p=1.0))
    if (lo, hi) != (1.0, 1.0) or (th, tw) != (ih, iw):
        ops += [A.PadIfNeeded(th, tw, border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=IGNORE_INDEX),
                A.RandomCrop(th, tw)]
    if cfg["hflip"]:
        ops.append(A.HorizontalFlip(p=0.5))
    shift = int(cfg["translate_px"] or 0)
    if shift < 0:
        raise ConfigError(f"data.augment.translate_px={shift} is invalid; expected a non-negative pixel count")
    if shift:
        # Shift in pixels of the network input; uncovered label pixels become 'ignore', as in ERFNet.
        ops.append(A.Affine(translate_px={"x": (-shift, shift), "y": (-shift, shift)}, interpolation=cv2.INTER_NEAREST,
                            border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=IGNORE_INDEX, p=1.0))
    jit = cfg["jitter"]
    if jit.get("enabled"):
        ops.append(A.ColorJitter(brightness=float(jit["brightness"]), contrast=float(jit["contrast"]),
                                 saturation=float(jit["saturation"]), hue=float(jit["hue"]), p=0.8))
    return PairTransform(ops, mean=mean, std=std)


def scaled_hw(shape, scale: float) -> tuple[int, int]:
    """(h, w) of a stored label scaled by ``scale`` (rounded; 1024x2048 at 0.5 -> 512x1024)."""
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def build_eval_transform(input_hw, label_hw, mean=IMAGENET_MEAN, std=IMAGENET_STD, label_scale=None) -> PairTransform:
    """``label_scale`` (a factor of the stored label size) replaces ``label_hw`` when given."""
    ih, iw = parse_hw(input_hw, "input_hw")
    lh, lw = parse_hw(label_hw, "label_hw")
    # The label is resized separately (nearest) because its size may differ from the network input.
    ops = [A.Resize(ih, iw, interpolation=cv2.INTER_AREA)]
    return PairTransform(ops, label_hw=(lh, lw), mean=mean, std=std, label_scale=label_scale)
