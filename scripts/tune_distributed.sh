#!/usr/bin/env bash
# Distributed hyperparameter search on one machine: one chief (keeps the oracle, hands out trials over gRPC)
# and N workers (train the trials), all running the same command, `python -m helpers.tune --run-dir DIR`.
#
#   scripts/tune_distributed.sh RUN_DIR [WORKERS] [PORT]
#
# RUN_DIR must already hold config.json and data/features.parquet (run 01_collect and 03_featurize first, or
# `lstm-lab run`). The budget is the run's config (tuner, max_trials, tune_epochs, tune_time_limit_s).
# The search resumes what RUN_DIR/tuning/ holds. The chief writes RUN_DIR/tuning/best.json when every worker
# is done. Logs: RUN_DIR/tuning/chief.log and RUN_DIR/tuning/tunerN.log.
#
# On several machines, run the same command on each with a shared RUN_DIR (e.g. NFS) and
#   KERASTUNER_ORACLE_IP=<chief's address> KERASTUNER_ORACLE_PORT=<port> KERASTUNER_TUNER_ID=chief|tuner0|tuner1...
set -euo pipefail
cd "$(dirname "$0")/.."

run_dir=${1:?usage: scripts/tune_distributed.sh RUN_DIR [WORKERS] [PORT]}
workers=${2:-2}
port=${3:-8000}
python=${PYTHON:-.venv/bin/python}

[ -f "$run_dir/config.json" ] || { echo "error: $run_dir/config.json is missing: run 01_collect first" >&2; exit 1; }
[ -f "$run_dir/data/features.parquet" ] || { echo "error: $run_dir/data/features.parquet is missing: run 03_featurize first" >&2; exit 1; }
mkdir -p "$run_dir/tuning"

export KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=$port TF_CPP_MIN_LOG_LEVEL=2
pids=()
stop_all() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_all INT TERM

KERASTUNER_TUNER_ID=chief "$python" -m helpers.tune --run-dir "$run_dir" --quiet > "$run_dir/tuning/chief.log" 2>&1 &
chief=$!
pids+=("$chief")
echo "chief (pid $chief) serving trials on $KERASTUNER_ORACLE_IP:$port; log: $run_dir/tuning/chief.log"

for ((i = 0; i < workers; i++)); do
  KERASTUNER_TUNER_ID=tuner$i "$python" -m helpers.tune --run-dir "$run_dir" --quiet > "$run_dir/tuning/tuner$i.log" 2>&1 &
  pids+=("$!")
  echo "worker tuner$i (pid $!) started; log: $run_dir/tuning/tuner$i.log"
done

status=0
for pid in "${pids[@]:1}"; do wait "$pid" || status=$?; done
echo "all workers finished; waiting for the chief to write best.json"
wait "$chief" || status=$?
tail -n 4 "$run_dir/tuning/chief.log"
exit $status
