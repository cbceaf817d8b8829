#!/bin/sh
# The CK+ grid of issue 16: every architecture x {none, weighted, smote}, 5 subject-grouped stratified folds of
# CK+48, one recipe (tuned on fold 1 of 10 with mycnn_v1, mycnn_v3 and multibranch: benchmarks/ckplus_grid.md).
# Models run cheapest first. It resumes: finished cells are skipped, so it runs in pieces of about two hours:
#     timeout 2h sh benchmarks/ckplus_grid.sh -q
# timeout's SIGTERM (like kill -9) keeps every finished cell and the unfinished one's last epoch; `fer report`
# rebuilds the tables. (A job started with & ignores SIGINT, so `timeout -s INT` would not stop it.)
# The run folder is runs/ckplus-grid/ (or runs/$RUN/). benchmarks/ckplus_grid/ keeps the finished cells' results
# and histories without weights (benchmarks/grid_archive.py), so a piece on a fresh machine starts where the last
# one stopped. A second process on the other core takes models from the far end of the list in its own folder:
#     RUN=ckplus-grid-b timeout 2h sh benchmarks/ckplus_grid.sh -q --models densenet121
# After a piece:
#     .venv/bin/python benchmarks/grid_archive.py merge runs/ckplus-grid-b runs/ckplus-grid
#     .venv/bin/python benchmarks/grid_archive.py save runs/ckplus-grid benchmarks/ckplus_grid
#     .venv/bin/fer report runs/ckplus-grid    # then copy its tables and plots into benchmarks/ckplus_grid/
set -e
RUN=${RUN:-ckplus-grid}
.venv/bin/python benchmarks/grid_archive.py restore benchmarks/ckplus_grid "runs/$RUN"
exec nice -n 19 .venv/bin/fer bench \
  --models mycnn_v1,mycnn_v2,multibranch,mycnn_v3,ma2024,timm/resnet10t,mycnn_v4,resnet18,mycnn_v5,mycnn_v6,vgg16,densenet121 \
  --balancers weighted,smote --data ../shared/data/ckplus --folds 5 \
  --epochs 40 --patience 0 --lr 0.003 --augment standard --threads 1 \
  --name "$RUN" "$@"
