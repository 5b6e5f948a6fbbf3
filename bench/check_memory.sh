#!/bin/sh
# Peak memory and time of `holdco check` on a generated folder: the columnar path (default)
# against the reference path (HOLDCO_REFERENCE_IMPORT=1), interleaved A B A B A B.
# Usage: bench/check_memory.sh [HOLDCO_BINARY] [FOLDER]
set -e
H=${1:-./target/release/holdco}
DIR=${2:-/tmp/holdco-check-memory}
[ -d "$DIR" ] || "$H" gen "$DIR" --units 2000 --facts 3000000 --changes 50 --seed 1
du -sb "$DIR/facts" | awk '{printf "input: %.0f MB of fact files\n", $1/1e6}'
for run in 1 2 3; do
  /usr/bin/time -f "columnar  run $run: %M KB peak, %e s" "$H" check "$DIR" >/dev/null
  HOLDCO_REFERENCE_IMPORT=1 /usr/bin/time -f "reference run $run: %M KB peak, %e s" "$H" check "$DIR" >/dev/null
done
