"""Inference: a trained network (checkpoint or exported ONNX model) applied to a dataset split or to images.

What a user does after training (docs/paper.md section 5 evaluates on Cityscapes val; the Cityscapes
benchmark, Cordts et al. 2016, scores labelId PNGs of the test split): `predictor` turns weights into a
callable from normalized images to logits on PyTorch or onnxruntime; `evaluate` scores a split with a
confusion matrix (the project's mIoU convention, the same as training's); `official` scores the same
predictions with cityscapesscripts' own evaluator; `predict` writes masks for any images; `outputs`
names and writes the PNGs. May import: deploy, grouping, measure, models, data, errors (not training).
"""
