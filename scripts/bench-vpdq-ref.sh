#!/usr/bin/env bash
# Side-by-side vPDQ hashing benchmark: tantalum's vPDQ against Meta's C++
# vpdq-hash-video on the 14 conformance videos, every frame at native size,
# rounds alternating in one run, CPU time of each whole run (children
# included: for us, the ffmpeg children that decode). Ours runs twice: once a
# process per video as the reference runs ("alone"), and once over all the
# videos in one process ("together", vpdq::hash_videos: one ffmpeg for
# several videos, as `tantalum hash` and `tantalum scan` decode them).
#
#   scripts/bench-vpdq-ref.sh REFERENCE_BINARY [ROUNDS] [SECONDS_PER_HASH]
#
# REFERENCE_BINARY is vpdq-hash-video built from a fetched copy of
# facebook/ThreatExchange (vpdq/cpp), outside this repository. SECONDS_PER_HASH
# is 0 (every frame, the default) or as the reference's -r takes it. Needs
# ../shared/conformance/vpdq/videos beside the repository and ffmpeg on PATH.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
reference=${1:?usage: scripts/bench-vpdq-ref.sh REFERENCE_BINARY [ROUNDS] [SECONDS_PER_HASH]}
rounds=${2:-5}
seconds=${3:-0}
videos="$repo/../shared/conformance/vpdq/videos"
[ -x "$reference" ] || { echo "no reference binary at $reference" >&2; exit 2; }
ls "$videos"/*.mp4 > /dev/null 2>&1 || { echo "no conformance videos in $videos" >&2; exit 2; }
(cd "$repo" && cargo build --release -q -p tantalum-vpdq --example vpdq_hash)
ours="$repo/target/release/examples/vpdq_hash"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

frames=0
for video in "$videos"/*.mp4; do
  frames=$((frames + $("$ours" "$video" "$seconds" | wc -l)))
done

cpu_of() { # user+sys seconds of a command and its children, from /usr/bin/time
  /usr/bin/time -f "%U %S" -o "$work/time" "$@" > /dev/null 2> "$work/err" || { cat "$work/err" >&2; return 1; }
  awk '{print $1 + $2}' "$work/time"
}
run_reference() {
  for video in "$videos"/*.mp4; do
    "$reference" -i "$video" -o "$work/reference.txt" -r "$seconds" -s 0 -t 1
  done
}
run_ours() {
  for video in "$videos"/*.mp4; do
    "$ours" "$video" "$seconds" > "$work/ours.txt"
  done
}

printf 'round\treference_cpu_s\talone_cpu_s\tratio\ttogether_cpu_s\tratio\n'
for round in $(seq 1 "$rounds"); do
  r=$(cpu_of bash -c "$(declare -f run_reference); reference='$reference' videos='$videos' work='$work' seconds='$seconds' run_reference")
  a=$(cpu_of bash -c "$(declare -f run_ours); ours='$ours' videos='$videos' work='$work' seconds='$seconds' run_ours")
  t=$(cpu_of "$ours" --videos "$seconds" "$videos"/*.mp4)
  printf '%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n' "$round" "$r" "$a" "$(echo "$r / $a" | bc -l)" "$t" "$(echo "$r / $t" | bc -l)"
done
echo "frames hashed per run: $frames; frames per CPU-second = $frames / cpu_s"
