#!/bin/sh
# The CK+ grid of issue 16: every architecture x {none, weighted, smote}, 5 subject-grouped stratified folds of
# CK+48, one recipe (tuned on fold 1 of 10 with mycnn_v1, mycnn_v3 and multibranch: benchmarks/ckplus_grid.md)
# except for VGG16: plain vgg16 and vgg16_bn stay at chance at lr 3e-3 (benchmarks/ckplus_vgg16_probe/), so the
# grid runs vgg16_bn at lr 3e-4 (the best of 3e-3, 1e-3, 3e-4 on fold 1 validation) in its own invocation, last.
# Models run cheapest first. It resumes: finished cells are skipped, so it runs in pieces of about two hours:
#     timeout 120m sh benchmarks/ckplus_grid.sh -q
# timeout's SIGTERM (like kill -9) keeps every finished cell and the unfinished one's last epoch; `fer report`
# rebuilds the tables. (A job started with & ignores SIGINT, so `timeout -s INT` would not stop it.)
# The run folder is runs/ckplus-grid/ (or runs/$RUN/). benchmarks/ckplus_grid/ keeps the finished cells' results
# and histories without weights (benchmarks/grid_archive.py), so a piece on a fresh machine starts where the last
# one stopped. A second process on the other core takes models from the far end of the list in its own folder
# (MODELS, not --models, chooses them):
#     RUN=ckplus-grid-b MODELS=vgg16_bn timeout 120m sh benchmarks/ckplus_grid.sh -q
# After a piece: sh benchmarks/ckplus_publish.sh (merge, archive, report, tables).
set -e
case " $* " in *" --models"* | *" -m "* | *" --lr"*)
  echo "error: choose models with MODELS=a,b; the learning rate is set per model here" >&2; exit 2 ;;
esac
RUN=${RUN:-ckplus-grid}
MODELS=${MODELS:-mycnn_v1,mycnn_v2,multibranch,mycnn_v3,ma2024,timm/resnet10t,mycnn_v4,resnet18,mycnn_v5,mycnn_v6,densenet121,vgg16_bn}
.venv/bin/python benchmarks/grid_archive.py restore benchmarks/ckplus_grid "runs/$RUN"
bench() {
  nice -n 19 .venv/bin/fer bench --balancers weighted,smote --data ../shared/data/ckplus --folds 5 \
    --epochs 40 --patience 0 --augment standard --threads 1 --name "$RUN" "$@"
}
others=$(echo "$MODELS" | tr , '\n' | grep -vx vgg16_bn | paste -sd, -)
if [ -n "$others" ]; then bench --models "$others" --lr 0.003 "$@"; fi
if echo "$MODELS" | tr , '\n' | grep -qx vgg16_bn; then bench --models vgg16_bn --lr 0.0003 "$@"; fi
