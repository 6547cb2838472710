"""Data layer: Cityscapes labels, reader, transforms, dataset and datamodule, and the synthetic stand-in.

Cityscapes (Cordts et al., CVPR 2016; the paper's data, docs/paper.md section 5) or, offline, a generated
city in its exact file layout (``synthetic.ensure_dataset``). Submodules are imported lazily so that
``gradgroup.data.labels`` (numpy only) does not pull in PyTorch Lightning and albumentations. The Hydra
config targets ``gradgroup.data.cityscapes.CityscapesDataModule``.
"""

from importlib import import_module

_EXPORTS = {
    "CLASS_NAMES": "labels", "PALETTE": "labels", "NUM_CLASSES": "labels", "IGNORE_INDEX": "labels",
    "label_ids_to_train_ids": "labels", "colorize": "labels",
    "ensure_dataset": "synthetic",
    "build_train_transform": "transforms", "build_eval_transform": "transforms",
    "CityscapesDataset": "cityscapes", "CityscapesDataModule": "cityscapes", "ERFNET_CLASS_WEIGHTS": "cityscapes",
    "enet_class_weights": "cityscapes",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
