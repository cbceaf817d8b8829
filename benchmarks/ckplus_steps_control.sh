#!/bin/sh
# Control for the CK+ grid (benchmarks/ckplus_grid.md): SMOTE enlarges each epoch from about 708 to 1,281 images
# (1.81x), so at 40 epochs a SMOTE cell takes 1.81x the gradient steps of a 'none' cell. This trains 'none' for
# 72 epochs (the same number of steps, the cosine schedule stretched to match) on the same 5 folds, to tell
# balance from longer training. The first four models are done; MODELS (not --models) takes up others, e.g. the
# two whose SMOTE gains were largest:
#     MODELS=mycnn_v5,mycnn_v6 timeout 120m sh benchmarks/ckplus_steps_control.sh -q
# It resumes like the grid: finished cells are restored from benchmarks/ckplus_steps_control/cells/ first, and
# after a piece `python benchmarks/grid_archive.py save runs/ckplus-steps-control benchmarks/ckplus_steps_control`
# keeps the new ones (then `fer report runs/ckplus-steps-control` and copy its tables there, as ckplus_publish.sh
# does for the grid).
set -e
case " $* " in *" --models"* | *" -m "*)
  echo "error: choose models with MODELS=a,b" >&2; exit 2 ;;
esac
MODELS=${MODELS:-mycnn_v1,mycnn_v2,multibranch,mycnn_v3}
.venv/bin/python benchmarks/grid_archive.py restore benchmarks/ckplus_steps_control runs/ckplus-steps-control
exec nice -n 19 .venv/bin/fer bench --models "$MODELS" --balancers none --data ../shared/data/ckplus --folds 5 \
  --epochs 72 --patience 0 --lr 0.003 --augment standard --threads 1 --name ckplus-steps-control "$@"
