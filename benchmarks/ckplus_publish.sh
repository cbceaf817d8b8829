#!/bin/sh
# After a piece of the CK+ grid (benchmarks/ckplus_grid.sh): fold every second process's run folder into
# runs/ckplus-grid, archive the finished cells, rebuild the tables and plots, and copy them to benchmarks/ckplus_grid/.
#     sh benchmarks/ckplus_publish.sh                  # merges runs/ckplus-grid-* if there are any
#     sh benchmarks/ckplus_publish.sh runs/other-run   # or the folders named
# GRID_RUN and GRID_OUT replace runs/ckplus-grid and benchmarks/ckplus_grid (to try it on copies).
# Then it prints the tables that benchmarks/ckplus_grid.md quotes (results, cost, per class, steps control), for
# the reading to be updated by hand. Run it only when no grid process is running (the merge takes each run's lock).
set -e
RUN=${GRID_RUN:-runs/ckplus-grid}
OUT=${GRID_OUT:-benchmarks/ckplus_grid}
PY=.venv/bin/python
if [ $# -eq 0 ]; then
  set -- $(ls -d runs/ckplus-grid-* 2>/dev/null || true)
fi
for other in "$@"; do
  $PY benchmarks/grid_archive.py merge "$other" "$RUN"
done
$PY benchmarks/grid_archive.py save "$RUN" "$OUT"
.venv/bin/fer report "$RUN" > /dev/null 2> "$RUN/report.log" || { cat "$RUN/report.log"; exit 1; }
echo "fer report: $(grep -c "^unfinished" "$RUN/report.log" || true) unfinished cells listed in $RUN/report.log"
rm -rf "$OUT/plots"
cp "$RUN/results.csv" "$RUN/results.json" "$RUN/summary.csv" "$RUN/report.md" "$OUT/"
cp -r "$RUN/plots" "$OUT/"
$PY benchmarks/ckplus_curves.py "$OUT" --control benchmarks/ckplus_steps_control --out "$OUT/plots/curves.png"
echo "== results (benchmarks/ckplus_table.py)"
$PY benchmarks/ckplus_table.py "$OUT/results.json"
echo "== cost (benchmarks/ckplus_cost.py)"
$PY benchmarks/ckplus_cost.py "$OUT" --reference mycnn_v4
echo "== per class (benchmarks/ckplus_per_class.py)"
$PY benchmarks/ckplus_per_class.py "$OUT/results.csv"
echo "== steps control (benchmarks/ckplus_steps_compare.py)"
$PY benchmarks/ckplus_steps_compare.py "$OUT/results.csv" benchmarks/ckplus_steps_control/results.csv
