#!/usr/bin/env bash
# The real-data grid of benchmarks/fer2013_grid.md (issue 6): FER-2013 "Training" to fit,
# "PublicTest" (../shared/data/fer2013/val) to select the best epoch and to report; 7 classes.
# PrivateTest is held back, so there is no test split and the leaderboard ranks on PublicTest.
#
# 9 models x {none, weighted, smote} = 27 cells, each capped at BUDGET seconds of training
# (the trainer stops before an epoch that would cross it) and at EPOCHS epochs, with early
# stopping after PATIENCE epochs without a better validation macro-F1.
# Cost on this 2-core CPU at the defaults: up to 27 x 15 min of training plus SMOTE and
# evaluation, about 7 hours; a slow model (resnet18) may get only a few epochs per budget.
#
# Rerunning the script resumes runs/$NAME/ (finished cells are skipped; an interrupted cell
# continues from its last epoch). Afterwards copy the leaderboard, the per-model budget use
# (epochs, train seconds) and the command from runs/$NAME/report.md into benchmarks/fer2013_grid.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-../shared/data/fer2013}
BUDGET=${BUDGET:-900}
EPOCHS=${EPOCHS:-30}
PATIENCE=${PATIENCE:-5}
NAME=${NAME:-fer2013-grid}
MODELS=${MODELS:-mycnn_v1,mycnn_v2,mycnn_v3,mycnn_v4,mycnn_v5,mycnn_v6,resnet18,ma2024,multibranch}

exec .venv/bin/fer bench \
    --models "$MODELS" \
    --balancers weighted,smote \
    --data "$DATA" \
    --epochs "$EPOCHS" \
    --time-budget "$BUDGET" \
    --augment standard \
    --set patience="$PATIENCE" \
    --name "$NAME" \
    "$@"
