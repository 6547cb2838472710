"""Data layer: Cityscapes labels, reader, transforms, dataset and datamodule, and the synthetic stand-in.

Cityscapes (Cordts et al., CVPR 2016; the paper's data, docs/paper.md section 5) or, offline, a generated
city in its exact file layout (`gradgroup.data.synthetic.ensure_dataset`). Import the submodule you need
(`labels` is numpy only; `cityscapes` brings Lightning and albumentations); the Hydra config targets
`gradgroup.data.cityscapes.CityscapesDataModule`.
"""
