"""Gradual grouping (Vallurupalli et al., CVPR-W 2018, section 4): anneal dense 1x1 convs into grouped ones.

- `schedules`: `alpha_at` and `AlphaSchedule`, alpha as a pure function of training progress, and the
  schedule shapes (`SHAPES`) and update granularities (`PERS`) the config offers.
- `callback`: `GradualGrouping`, the Lightning callback that sets alpha from the trainer's progress.
- `convert`: `convert_to_grouped`, real `nn.Conv2d(groups=G)` layers once alpha = 0.

The annealed layer itself, `GradualPointwiseConv` (with `set_alpha` and `gradual_convs`), is one more
conv kind of the model factory and lives in `gradgroup.models.gradual_conv`. Import the submodule you
need: this file imports none, so the config schema reads `schedules` without loading torch or Lightning.
"""
