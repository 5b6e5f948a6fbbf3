#!/bin/sh
# P9 (issue 11 item 2): revising 1 / 1,000 / 100,000 facts in an 11.6M-fact SQLite store,
# time and peak memory of each import (one fresh process each, /usr/bin/time -v), against
# the baseline of the same binary importing the unchanged folder into the same store
# (interleaved: baseline, revision, baseline, revision ...). Then a roll-up from the store.
#
# Usage: bench/p9.sh [HOLDCO_BINARY] [WORK_FOLDER]
# Needs about 1.5 GB in WORK_FOLDER (the folder, three revised copies sharing its files by
# hard links, the store); delete it afterwards.
set -e
H=${1:-./target/release/holdco}
W=${2:-/tmp/holdco-p9}
HERE=$(dirname "$0")
mkdir -p "$W"
[ -d "$W/big" ] || "$H" gen "$W/big" --facts 10000000 --units 5000 --changes 200 >/dev/null
for n in 1 1000 100000; do
  [ -d "$W/rev$n" ] || python3 "$HERE/p9_revise.py" "$W/big" "$W/rev$n" "$n"
done
du -sb "$W/big/facts" | awk '{printf "fact files: %.0f MB\n", $1/1e6}'
rm -f "$W/p9.db" "$W/p9.db-wal" "$W/p9.db-shm"
measure() { # label, then the command
  label=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$W/time.txt" "$@" >"$W/out.txt" 2>&1 || { cat "$W/out.txt"; exit 1; }
  read -r wall kb user sys < "$W/time.txt"
  printf "%-34s %7.2f s wall %7.2f s cpu %6.0f MB peak  load %s\n" "$label" "$wall" \
    "$(echo "$user + $sys" | bc)" "$(echo "$kb / 1024" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
  grep -o "[0-9]* facts new, [0-9]* revised, [0-9]* unchanged" "$W/out.txt" || true
}
measure "first import (11.6M new)" "$H" --db "$W/p9.db" import "$W/big"
ROLLUP="rollup revenue --view restated --periods 2016-01..2016-12 --depth 1"
measure "rollup, store without revisions" "$H" --db "$W/p9.db" $ROLLUP
# Per N, interleaved: baseline (the store's own figures again: nothing changes), N revised,
# baseline again (the revised folder again), N revised back to the original figures.
for n in 1 1000 100000; do
  measure "baseline: big again" "$H" --db "$W/p9.db" import "$W/big"
  measure "revise $n: rev$n" "$H" --db "$W/p9.db" import "$W/rev$n"
  measure "baseline: rev$n again" "$H" --db "$W/p9.db" import "$W/rev$n"
  measure "revise $n back: big" "$H" --db "$W/p9.db" import "$W/big"
done
measure "rollup, store with revisions" "$H" --db "$W/p9.db" $ROLLUP
