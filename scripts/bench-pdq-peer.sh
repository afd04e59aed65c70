#!/usr/bin/env bash
# Side-by-side PDQ hashing benchmark: tantalum against HMA's hasher (PyPI
# pdqhash + Pillow, mode cimgnn: bit-exact with Meta's reference) on the same
# JPEG corpus, interleaved in one run, single-threaded, plus tantalum on 2 threads.
#
#   scripts/bench-pdq-peer.sh [WORKDIR] [REPEATS]
#
# WORKDIR (default ../bench-work, outside the repo) gets a Python venv with the
# peer, the 300-image corpus from ../shared/bench/make_jpeg_corpus.py (seed 7),
# and the outputs. Needs ../shared/bench beside the repo.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
kit="$repo/../shared/bench"
work=$(mkdir -p "${1:-$repo/../bench-work}" && cd "${1:-$repo/../bench-work}" && pwd)
reps=${2:-3}
[ -f "$kit/pdq_peer_pypi.py" ] || { echo "no benchmark kit at $kit" >&2; exit 2; }

if [ ! -x "$work/venv/bin/python" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q pdqhash pillow numpy
fi
if [ ! -f "$work/jpegs.lst" ]; then
  "$work/venv/bin/python" "$kit/make_jpeg_corpus.py" "$work/jpegs" 300 7
  ls "$work"/jpegs/*.jpg | sort > "$work/jpegs.lst"
fi
(cd "$repo" && cargo build --release -q)
tantalum="$repo/target/release/tantalum"

cpu_of() { # user+sys seconds of a command, from /usr/bin/time
  /usr/bin/time -f "%U %S" -o "$work/time.out" "$@" > /dev/null 2> "$work/cmd.err" || { cat "$work/cmd.err" >&2; return 1; }
  awk '{print $1 + $2}' "$work/time.out"
}
wall_of() { # wall seconds of a command
  local t0 t1
  t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
n=$(wc -l < "$work/jpegs.lst")
peer() { OMP_NUM_THREADS=1 "$work/venv/bin/python" "$kit/pdq_peer_pypi.py" cimgnn < "$work/jpegs.lst"; }
ours1() { "$tantalum" hash --json --threads 1 "$work/jpegs"; }
ours2() { "$tantalum" hash --json --threads 2 "$work/jpegs"; }

printf 'rep\tpeer_cpu_s\tours_cpu_s\tratio_cpu\tours_2t_wall_s\tours_1t_wall_s\n'
for rep in $(seq 1 "$reps"); do
  cat "$work"/jpegs/*.jpg > /dev/null   # same warm page cache for every tool
  p=$(cpu_of bash -c "$(declare -f peer); work='$work' kit='$kit' peer")
  o=$(cpu_of "$tantalum" hash --json --threads 1 "$work/jpegs")
  w2=$(wall_of ours2)
  w1=$(wall_of ours1)
  printf '%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n' "$rep" "$p" "$o" "$(echo "$p / $o" | bc -l)" "$w2" "$w1"
done
echo "images: $n; images/s per core = $n / cpu_s; 2-thread scaling = ours_1t_wall / ours_2t_wall"

# Bit-exactness on the corpus: tantalum's hashes against the peer's.
peer > "$work/peer.csv" 2> /dev/null
ours1 > "$work/ours.jsonl"
python3 - "$work" <<'PY'
import json, sys, os
work = sys.argv[1]
peer = {os.path.basename(l.split(",")[2].strip()): l.split(",")[0] for l in open(f"{work}/peer.csv")}
ours = {}
for line in open(f"{work}/ours.jsonl"):
    r = json.loads(line)
    ours[os.path.basename(r["path"])] = r["pdq"]
same = sum(1 for k in peer if ours.get(k) == peer[k])
print(f"bit-exact with the peer on {same} of {len(peer)} images")
PY
