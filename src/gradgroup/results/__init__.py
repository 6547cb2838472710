"""Results of sweeps: read the files jobs wrote, write tables and plots (the paper's Tables 3-5, Figure 4).

Reproduces how "Efficient Semantic Segmentation using Gradual Grouping" (Vallurupalli et al., CVPR-W
2018, arXiv 1806.08522; docs/paper.md sections 3-4) reports its models, from the files a sweep leaves
behind and nothing else:

- `records`: every job's metrics.json (`load_runs`) and the sweep's latency.json (`load_latency`);
- `format`: numbers, labels and headers shared by everything below;
- `table`: one row per experiment over seeds, budgets, results.csv / results.md (`gradgroup-table`);
- `pareto`: error against GMACs and latency with the Pareto front (the paper's Figure 4);
- `stats`: paired statistics over seeds (sign-flip p, bootstrap interval, Holm, detectable effect);
- `ablation`: direct, abrupt and gradual grouping, paired by seed (`gradgroup-ablation`);
- `history`, `study_plots`, `study_doc`: the gradual grouping study's curves, plots and page (`make study`).

This package imports nothing from training, models, measure or data, so summarising a sweep never
loads torch; matplotlib and wandb are imported only by the functions that draw or log.
"""
