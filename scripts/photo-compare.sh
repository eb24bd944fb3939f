#!/usr/bin/env bash
# Compares Fieldloop's evidence photo pipeline with vipsthumbnail and
# ImageMagick doing the same job on one JPEG:
#   a 2048 px display copy (JPEG q85) + a 320 px thumbnail made from it
#   + the SHA-256 of the original.
# Each tool runs RUNS times (default 5) after one untimed warm-up; the table
# gives the median wall time and the median peak resident memory
# (GNU time's %e and %M; for a chain of commands, the largest process).
#
# Usage: scripts/photo-compare.sh [PHOTO.jpg]
#   Without PHOTO, camera-like JPEGs (quality 90) of 4000×3000 and 6000×4000
#   are generated with ImageMagick and compared one after the other.
# Needs: libvips-tools, imagemagick, time (installed with apt-get if missing).
set -euo pipefail

RUNS="${RUNS:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/photo-compare.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# --- tools -----------------------------------------------------------------
is_imagemagick() { [ -x /usr/bin/convert ] && /usr/bin/convert -version 2>/dev/null | grep -q ImageMagick; }
missing=()
command -v vipsthumbnail >/dev/null 2>&1 || missing+=(libvips-tools)
is_imagemagick || missing+=(imagemagick)
[ -x /usr/bin/time ] || missing+=(time)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
CONVERT=/usr/bin/convert   # the real ImageMagick, not a stand-in earlier in PATH

# --- input -------------------------------------------------------------------
if [ $# -ge 1 ]; then
    PHOTO="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
else
    # Two camera-like JPEGs (quality 90): 12 and 24 megapixels, each compared
    # in its own run of this script.
    for size in 4000x3000 6000x4000; do
        echo "generating camera-$size.jpg" >&2
        "$CONVERT" -size "$size" plasma:fractal -blur 0x2 -attenuate 0.3 +noise Gaussian \
            -quality 90 "$WORK/camera-$size.jpg"
    done
    status=0
    for size in 4000x3000 6000x4000; do
        bash "${BASH_SOURCE[0]}" "$WORK/camera-$size.jpg" || status=$?
    done
    exit "$status"
fi
[ -f "$PHOTO" ] || { echo "no such file: $PHOTO" >&2; exit 2; }

# --- our pipeline (release build) --------------------------------------------
echo "building the photo_pipeline example (release)" >&2
(cd "$ROOT" && cargo build --quiet --release -p fieldloop-tablet --example photo_pipeline)
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
OURS="${TARGET_DIR:-$ROOT/target}/release/examples/photo_pipeline"
[ -x "$OURS" ] || { echo "not built: $OURS" >&2; exit 1; }

mkdir -p "$WORK/ours" "$WORK/vips" "$WORK/im"
# Quote once here, so the commands below survive any path.
Q_PHOTO="$(printf %q "$PHOTO")"
Q_OURS="$(printf %q "$OURS")"
Q_WORK="$(printf %q "$WORK")"

CMD_OURS="$Q_OURS $Q_PHOTO $Q_WORK/ours >/dev/null"
CMD_VIPS="vipsthumbnail $Q_PHOTO -s 2048 -o $Q_WORK/vips/display.jpg[Q=85] \
 && vipsthumbnail $Q_WORK/vips/display.jpg -s 320 -o $Q_WORK/vips/thumb.jpg[Q=85] \
 && sha256sum $Q_PHOTO >/dev/null"
CMD_IM="$CONVERT $Q_PHOTO -auto-orient -resize '2048x2048>' -quality 85 -write $Q_WORK/im/display.jpg \
 -resize '320x320>' -quality 85 $Q_WORK/im/thumb.jpg && sha256sum $Q_PHOTO >/dev/null"

# Runs a command RUNS times; prints "median_seconds median_peak_kib".
measure() {
    local cmd="$1" times="$WORK/times" i
    : >"$times"
    bash -c "$cmd" # warm-up (page cache, dynamic loader)
    for ((i = 0; i < RUNS; i++)); do
        /usr/bin/time -f '%e %M' -a -o "$times" bash -c "$cmd"
    done
    local secs kib
    secs="$(cut -d' ' -f1 "$times" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
    kib="$(cut -d' ' -f2 "$times" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
    echo "$secs $kib"
}

echo "measuring ($RUNS runs each)" >&2
read -r OURS_S OURS_K < <(measure "$CMD_OURS")
read -r VIPS_S VIPS_K < <(measure "$CMD_VIPS")
read -r IM_S IM_K < <(measure "$CMD_IM")

for tool in ours vips im; do
    for f in display thumb; do
        [ -s "$WORK/$tool/$f.jpg" ] || { echo "$tool wrote no $f.jpg" >&2; exit 1; }
    done
done

dims() { "$CONVERT" "$1" -format '%wx%h' info:; }
size() { stat -c %s "$1"; }

echo
printf 'input: %s (%s, %s bytes), %d runs each, medians\n' \
    "$(basename "$PHOTO")" "$(dims "$PHOTO")" "$(size "$PHOTO")" "$RUNS"
printf '%-13s %9s %10s %16s %16s %14s %14s\n' \
    tool "time (s)" "peak (MiB)" "display" "thumb" "ours/this time" "ours/this peak"
row() {
    local name="$1" s="$2" k="$3" dir="$4"
    awk -v n="$name" -v s="$s" -v k="$k" -v os="$OURS_S" -v ok="$OURS_K" \
        -v d="$(dims "$dir/display.jpg") $(( $(size "$dir/display.jpg") / 1024 ))K" \
        -v t="$(dims "$dir/thumb.jpg") $(( $(size "$dir/thumb.jpg") / 1024 ))K" \
        'BEGIN { printf "%-13s %9.3f %10.1f %16s %16s %14.2f %14.2f\n", n, s, k/1024, d, t, os/s, ok/k }'
}
row fieldloop "$OURS_S" "$OURS_K" "$WORK/ours"
row vipsthumbnail "$VIPS_S" "$VIPS_K" "$WORK/vips"
row imagemagick "$IM_S" "$IM_K" "$WORK/im"
echo
awk -v os="$OURS_S" -v ok="$OURS_K" -v vs="$VIPS_S" -v vk="$VIPS_K" -v is="$IM_S" -v ik="$IM_K" 'BEGIN {
    printf "ours/vips:        time %.2f  peak memory %.2f\n", os/vs, ok/vk
    printf "ours/ImageMagick: time %.2f  peak memory %.2f\n", os/is, ok/ik
    printf "goal (issue #17): time <= 0.6x vips (%s), peak memory <= vips (%s)\n",
        (os <= 0.6*vs ? "met" : "NOT met"), (ok <= vk ? "met" : "NOT met")
}'
