"""The data layer's closed choices and what each means; config/schema.py turns them into its enums.

- `VALIDATE_MODES` (`data.validate`): how much of a dataset `reader.validate_pairs` checks before
  training: `full` decodes every pair, `quick` decodes labels and checks image PNG checksums, `none`.
- `LABEL_RESOLUTIONS` (`data.label_resolution`): the ground-truth size val/test score against, as a scale
  of the stored labels (`full`: the Cityscapes benchmark, 2048x1024; `half`: the paper's GT subsampled
  by 2) or None for `label_hw`, a fixed size (the generated-city presets).

Standard library only, so the schema can import it without the data stack.
"""
from __future__ import annotations

VALIDATE_MODES = ("full", "quick", "none")
LABEL_RESOLUTIONS = {"full": 1.0, "half": 0.5, "label_hw": None}
