#!/bin/sh
# The CK+ grid of issue 16: every architecture x {none, weighted, smote}, 5 subject-grouped stratified folds of
# CK+48, one recipe (tuned on fold 1 of 10 with mycnn_v1, mycnn_v3 and multibranch: benchmarks/ckplus_grid.md).
# Models run cheapest first. It resumes: run the same command again after a stop, e.g. in two-hour pieces:
#     timeout -s INT 2h sh benchmarks/ckplus_grid.sh
# and finished cells are skipped. The run folder is runs/ckplus-grid/; benchmarks/ckplus_grid/ keeps its tables.
exec nice -n 19 .venv/bin/fer bench \
  --models mycnn_v1,mycnn_v2,multibranch,mycnn_v3,ma2024,timm/resnet10t,mycnn_v4,resnet18,mycnn_v5,mycnn_v6,vgg16,densenet121 \
  --balancers weighted,smote --data ../shared/data/ckplus --folds 5 \
  --epochs 40 --patience 0 --lr 0.003 --augment standard --threads 1 \
  --name ckplus-grid "$@"
