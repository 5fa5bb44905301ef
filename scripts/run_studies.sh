#!/usr/bin/env bash
# The full experiments of docs/results.md (issue 6), as started on the 2-core CI machine on
# 2026-11-24: Denmark label efficiency, noise and transfer, and SpaceNet Atlanta buildings with
# footprints degraded by `noisyseg corrupt` as the noisy labels. Each study resumes where it
# stopped when run again. On 2 CPU cores expect hours, not minutes.
# Usage: scripts/run_studies.sh [OUT]   (default /tmp/studies)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/studies}
NS=.venv/bin/noisyseg
D=data/denmark_s2_fields
A=data/spacenet_atlanta_buildings
TRAIN=(--epochs 60 --pretrain-epochs 30 --base-width 16 --batch-size 8)
mkdir -p "$OUT/data"

for n in noisy:marker_small_c31bc47 clean:marker2016_small; do
  [ -d "$OUT/data/dk_${n%%:*}" ] || $NS export --image $D/RGB_small.tif --labels "$D/${n#*:}.shp" --field AfgKode \
    --classes $D/classes.json --tile 64 --unlabeled ignore --out "$OUT/data/dk_${n%%:*}"
done
printf '{"classes": [{"id": 1, "name": "building", "color": "#e41a1c", "values": ["*"]}]}\n' > "$OUT/data/atlanta_classes.json"
[ -d "$OUT/data/atl_clean" ] || $NS export --image $A/sample_geotiff.tif --labels $A/geotiff_labels.geojson \
  --classes "$OUT/data/atlanta_classes.json" --unlabeled background --tile 64 --out "$OUT/data/atl_clean"
[ -d "$OUT/data/atl_noisy" ] || $NS corrupt --data "$OUT/data/atl_clean" --out "$OUT/data/atl_noisy" \
  --rate 0.6 --kinds remove,shift,erode,dilate,rotate --seed 0

nice -n 10 $NS study label-efficiency --noisy "$OUT/data/dk_noisy" --clean "$OUT/data/dk_clean" \
  --test "$OUT/data/dk_clean" --k 2,4,8,16,all --inits scratch,noisy,simclr,simclr+noisy --seeds 3 \
  --out "$OUT/denmark_le" "${TRAIN[@]}"
nice -n 10 $NS study noise --clean "$OUT/data/dk_clean" --test "$OUT/data/dk_clean" \
  --rates 0,0.2,0.5 --kinds remove,shift,erode,dilate,flip --k 8 --seeds 2 --out "$OUT/denmark_noise" "${TRAIN[@]}"
nice -n 10 $NS study transfer --noisy "$OUT/data/dk_noisy" --clean "$OUT/data/dk_clean" --test "$OUT/data/dk_clean" \
  --k 8 --seeds 3 --decoders fpn,deeplabv3plus --coarse-classes "cereals=1,2;grassland=4,5;other=3,6" \
  --out "$OUT/denmark_transfer" "${TRAIN[@]}"
nice -n 10 $NS study label-efficiency --noisy "$OUT/data/atl_noisy" --clean "$OUT/data/atl_clean" \
  --test "$OUT/data/atl_clean" --k 2,8,32,all --inits scratch,noisy --seeds 3 --metric iou:building --class-weights \
  --out "$OUT/atlanta_le" --epochs 40 --pretrain-epochs 20 --base-width 16 --batch-size 8
