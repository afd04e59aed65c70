#!/usr/bin/env bash
# Side-by-side vPDQ hashing benchmark: tantalum's vPDQ against Meta's C++
# vpdq-hash-video on the 14 conformance videos, every frame at native size,
# rounds alternating in one run, CPU time of each whole run (children
# included: for us, the ffmpeg children that decode).
#
#   scripts/bench-vpdq-ref.sh REFERENCE_BINARY [ROUNDS] [SECONDS_PER_HASH]
#
# Each round measures three settings, each program in turn:
#
# - free: one run at a time, the scheduler free to use every CPU. Ours runs
#   twice: a process per video as the reference runs ("alone"), and all the
#   videos in one process ("together", vpdq::hash_videos: one ffmpeg for
#   several videos, as `tantalum hash` and `tantalum scan` decode them).
# - one core: each whole run confined to one CPU (taskset), so "per core" is
#   literal. Our ffmpeg child and our hashing then share that core, as they do
#   when every core has work.
# - loaded: the videos dealt round-robin into one part per CPU, the parts run
#   at once, so that every core is busy as in a scan of many files.
#
# When an idle second core is free, the frames ffmpeg writes are read on
# another core, and the cache lines cross between cores twice: that costs us
# CPU time the other two settings do not show (see the README).
#
# REFERENCE_BINARY is vpdq-hash-video built from a fetched copy of
# facebook/ThreatExchange (vpdq/cpp), outside this repository. SECONDS_PER_HASH
# is 0 (every frame, the default) or as the reference's -r takes it. Needs
# ../shared/conformance/vpdq/videos beside the repository, ffmpeg on PATH and
# taskset (util-linux).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
reference=${1:?usage: scripts/bench-vpdq-ref.sh REFERENCE_BINARY [ROUNDS] [SECONDS_PER_HASH]}
rounds=${2:-5}
seconds=${3:-0}
videos_dir="$repo/../shared/conformance/vpdq/videos"
[ -x "$reference" ] || { echo "no reference binary at $reference" >&2; exit 2; }
ls "$videos_dir"/*.mp4 > /dev/null 2>&1 || { echo "no conformance videos in $videos_dir" >&2; exit 2; }
command -v taskset > /dev/null || { echo "taskset (util-linux) is needed" >&2; exit 2; }
(cd "$repo" && cargo build --release -q -p tantalum-vpdq --example vpdq_hash)
ours="$repo/target/release/examples/vpdq_hash"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
videos=("$videos_dir"/*.mp4)
# The one CPU of the one-core setting: the last this process may use.
one_cpu=$(taskset -cp $$ | sed 's/.*: //' | tr ',' '\n' | tail -1 | sed 's/.*-//')
cpus=$(nproc)

frames=0
for video in "${videos[@]}"; do
  frames=$((frames + $("$ours" "$video" "$seconds" | wc -l)))
done

cpu_of() { # user+sys seconds of a command and its children, from /usr/bin/time
  /usr/bin/time -f "%U %S" -o "$work/time" "$@" > /dev/null 2> "$work/err" || { cat "$work/err" >&2; return 1; }
  awk '{print $1 + $2}' "$work/time"
}
reference_over() { # the reference over the videos named, one process each
  for video in "$@"; do
    "$reference" -i "$video" -o "$work/reference-$BASHPID.txt" -r "$seconds" -s 0 -t 1 > /dev/null
  done
}
ours_alone() {
  for video in "${videos[@]}"; do
    "$ours" "$video" "$seconds" > "$work/ours.txt"
  done
}
ours_together() { "$ours" --videos "$seconds" "$@" > "$work/ours-$BASHPID.txt"; }
loaded() { # $1: reference_over or ours_together, over one part of the videos per CPU
  local part
  for ((part = 0; part < cpus; part++)); do
    local mine=()
    for ((i = part; i < ${#videos[@]}; i += cpus)); do mine+=("${videos[i]}"); done
    [ ${#mine[@]} -eq 0 ] || "$1" "${mine[@]}" &
  done
  wait
}
export -f reference_over ours_together loaded
export reference ours work seconds cpus
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }

printf 'CPU seconds (user+sys) per run over %d videos; ratio = reference / ours\n' "${#videos[@]}"
printf 'round\tsetting\treference\tours_alone\tratio\tours_together\tratio\n'
for round in $(seq 1 "$rounds"); do
  r=$(cpu_of bash -c 'reference_over "$@"' _ "${videos[@]}")
  a=$(cpu_of bash -c "$(declare -f ours_alone); videos=(${videos[*]@Q}); ours_alone")
  t=$(cpu_of bash -c 'ours_together "$@"' _ "${videos[@]}")
  printf '%s\tfree\t%.2f\t%.2f\t%s\t%.2f\t%s\n' "$round" "$r" "$a" "$(ratio "$r" "$a")" "$t" "$(ratio "$r" "$t")"
  r=$(cpu_of taskset -c "$one_cpu" bash -c 'reference_over "$@"' _ "${videos[@]}")
  t=$(cpu_of taskset -c "$one_cpu" bash -c 'ours_together "$@"' _ "${videos[@]}")
  printf '%s\tone core\t%.2f\t-\t-\t%.2f\t%s\n' "$round" "$r" "$t" "$(ratio "$r" "$t")"
  r=$(cpu_of bash -c "videos=(${videos[*]@Q}); loaded reference_over")
  t=$(cpu_of bash -c "videos=(${videos[*]@Q}); loaded ours_together")
  printf '%s\tloaded (%d parts)\t%.2f\t-\t-\t%.2f\t%s\n' "$round" "$cpus" "$r" "$t" "$(ratio "$r" "$t")"
done
echo "frames hashed per run: $frames; frames per CPU-second = $frames / CPU seconds"
