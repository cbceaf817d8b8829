#!/bin/sh
# Control for the CK+ grid (benchmarks/ckplus_grid.md): SMOTE enlarges each epoch from about 708 to 1,281 images
# (1.81x), so at 40 epochs a SMOTE cell takes 1.81x the gradient steps of a 'none' cell. This trains 'none' for
# 72 epochs (the same number of steps, the cosine schedule stretched to match) on the same 5 folds, to tell
# balance from longer training: first the two small models whose SMOTE gains were outside the noise, then two more.
exec nice -n 19 .venv/bin/fer bench --models mycnn_v1,mycnn_v2,multibranch,mycnn_v3 --balancers none --data ../shared/data/ckplus --folds 5 \
  --epochs 72 --patience 0 --lr 0.003 --augment standard --threads 1 --name ckplus-steps-control "$@"
