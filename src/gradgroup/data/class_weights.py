"""Class weights of the weighted cross-entropy, by the name `loss.weights` gives them (docs/paper.md section 5).

- `erfnet`: ERFNet's published Cityscapes weights (erfnet_pytorch, train/main.py, encoder+decoder stage),
  in trainId order;
- `histogram`: ENet's weighting (Paszke et al., 2016) from this dataset's training label histogram,
  w = 1 / ln(c + p) with p a class's share of the labelled pixels and c = 1.02; a class absent from the
  labels gets the maximum 1 / ln(c). ERFNet's published constants are consistent with c ~= 1.10 (their
  maximum 10.4 ~= 1/ln 1.10), so the two weightings differ about 5x in range;
- `none`: unweighted.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import DataError

ERFNET_CLASS_WEIGHTS = (2.8149201869965, 6.9850029945374, 3.7890393733978, 9.9428062438965, 9.7702074050903,
                        9.5110931396484, 10.311357498169, 10.026463508606, 4.6323022842407, 9.5608062744141,
                        7.8698215484619, 9.5168733596802, 10.373730659485, 6.6616044044495, 10.260489463806,
                        10.287888526917, 10.289801597595, 10.405355453491, 10.138095855713)
ENET_C = 1.02


def histogram_weights(histogram, c: float = ENET_C) -> torch.Tensor:
    """ENet's 1 / ln(c + p) from a per-class pixel count (float32)."""
    hist = torch.as_tensor(np.asarray(histogram, dtype=np.float64))
    if hist.sum() <= 0:
        raise DataError("cannot compute class weights: the training labels contain no labelled (non-ignore) pixel")
    return (1.0 / torch.log(c + hist / hist.sum())).float()


def loss_class_weights(kind: str, datamodule) -> torch.Tensor | None:
    """The weights `loss.weights=<kind>` names (the schema lets only these kinds through); `histogram`
    counts the datamodule's training labels (`train_histogram()`, cached)."""
    if kind == "none":
        return None
    if kind == "erfnet":
        return torch.tensor(ERFNET_CLASS_WEIGHTS, dtype=torch.float32)
    return histogram_weights(datamodule.train_histogram())
