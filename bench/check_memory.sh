#!/bin/sh
# Peak memory and time of `holdco check` on generated folders: the default paths against the
# reference path (HOLDCO_REFERENCE_IMPORT=1, one `Fact` per row), interleaved A B A B A B.
# Cases (issue 16 item 7):
#   big      the generated folder as it is (fact files of up to 64 MB)
#   many     the same facts split into files of about 4 MB
#   badrow   `big` with one bad row in the middle of its largest fact file
#   strategy `big` with a (valid) strategy.toml
# Usage: bench/check_memory.sh [HOLDCO_BINARY] [FOLDER] [RUNS] [CASES...]
set -e
H=${1:-./target/release/holdco}
DIR=${2:-/tmp/holdco-check-memory}
RUNS=${3:-3}
shift 3 2>/dev/null || shift $#
CASES=${*:-big many badrow strategy}
[ -d "$DIR" ] || "$H" gen "$DIR" --units 2000 --facts 3000000 --changes 50 --seed 1 >/dev/null

prepare() {
  case "$1" in
    big) echo "$DIR" ;;
    many)
      out="$DIR-many"
      if [ ! -d "$out" ]; then
        mkdir -p "$out/facts"
        for f in "$DIR"/*.toml "$DIR"/*.csv; do [ -e "$f" ] && cp "$f" "$out/"; done
        # about 4 MB a file, each with the header
        for f in "$DIR"/facts/*.csv; do
          base=$(basename "$f" .csv)
          tail -n +2 "$f" | split -C 4000000 -d -a 4 --additional-suffix=.csv - "$out/facts/$base-"
          for part in "$out/facts/$base-"*.csv; do
            { head -n 1 "$f"; cat "$part"; } > "$part.tmp" && mv "$part.tmp" "$part"
          done
        done
      fi
      echo "$out" ;;
    badrow)
      out="$DIR-badrow"
      if [ ! -d "$out" ]; then
        cp -r "$DIR" "$out"
        big=$(ls -S "$out"/facts/*.csv | head -n 1)
        lines=$(wc -l < "$big")
        awk -v at=$((lines / 2)) 'NR == at { print "nowhere,2020-01,revenue,1,," } { print }' "$big" > "$big.tmp"
        mv "$big.tmp" "$big"
      fi
      echo "$out" ;;
    strategy)
      out="$DIR-strategy"
      if [ ! -d "$out" ]; then
        cp -r "$DIR" "$out"
        cat > "$out/strategy.toml" <<'EOF'
[strategy]
name = "Benchmark"
weights_sum = 1.0
portfolio = ["u1", "u2"]

[[criterion]]
id = "market_potential"
name = "Market potential"
source = "assessment"
scale = [1, 5]
weight = 1.0

[[class]]
id = "core"
name = "Core"
rule = 'score >= 50.0'
EOF
      fi
      echo "$out" ;;
  esac
}

for case in $CASES; do
  folder=$(prepare "$case")
  files=$(ls "$folder"/facts/*.csv | wc -l)
  du -sb "$folder/facts" | awk -v c="$case" -v n="$files" '{printf "%s: %.0f MB of fact files in %d file(s)", c, $1/1e6, n}'
  ls -l "$folder"/facts/*.csv | awk 'BEGIN{m=0} {if ($5>m) m=$5} END{printf ", largest %.0f MB\n", m/1e6}'
  for run in $(seq "$RUNS"); do
    /usr/bin/time -f "  default   run $run: %M KB peak, %e s" "$H" check "$folder" >/dev/null 2>/tmp/check_memory.err || true
    tail -n 1 /tmp/check_memory.err
    HOLDCO_REFERENCE_IMPORT=1 /usr/bin/time -f "  reference run $run: %M KB peak, %e s" "$H" check "$folder" >/dev/null 2>/tmp/check_memory.err || true
    tail -n 1 /tmp/check_memory.err
  done
  echo "  load: $(cut -d ' ' -f 1-3 /proc/loadavg)"
done
