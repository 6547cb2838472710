"""A synthetic city in the Cityscapes file layout, generated once into a cache (the offline stand-in).

Cityscapes (Cordts et al., CVPR 2016) is the dataset of the paper (docs/paper.md sections 3 and 5), but
it needs an account and a download. ``ensure_dataset(root, **params)`` renders a deterministic street
scene set into ``root`` in its exact layout (``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` and
``gtFine/<split>/<city>/*_gtFine_labelIds.png``) unless ``root`` already holds it; ``DEFAULTS`` are the
accepted params. Everything else in this package (``cache``, ``generator``, ``scene``, ``objects``,
``canvas``) is internal.
"""

from .cache import default_cache_dir, ensure_dataset
from .generator import DEFAULTS

__all__ = ["DEFAULTS", "default_cache_dir", "ensure_dataset"]
