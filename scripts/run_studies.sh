#!/usr/bin/env bash
# The full experiments of docs/results.md (issue 6), as run on the 2-core CI machine on
# 2026-11-24: Denmark label efficiency (and its fine-tuning variants), noise and transfer; SpaceNet
# Atlanta buildings with footprints degraded by `noisyseg corrupt` as the noisy labels, before and
# after the fixes. Every study resumes where it stopped when run again, so the script may be
# interrupted. One torch thread per study: these tiny models run best one study per core.
# Usage: scripts/run_studies.sh [OUT]   (default /tmp/studies)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/studies}
NS=.venv/bin/noisyseg
D=data/denmark_s2_fields
A=data/spacenet_atlanta_buildings
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
DK=(--epochs 60 --pretrain-epochs 30 --base-width 16 --batch-size 8)
ATL=(--epochs 40 --pretrain-epochs 20 --base-width 16 --batch-size 8 --metric iou:building)
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

dk_le() {  # dk_le NAME INITS [options]
  nice -n 10 $NS study label-efficiency --noisy "$OUT/data/dk_noisy" --clean "$OUT/data/dk_clean" \
    --test "$OUT/data/dk_clean" --k 2,4,8,16,all --inits "$2" --seeds 3 --out "$OUT/$1" "${DK[@]}" "${@:3}"
}
atl_le() {  # atl_le NAME KS INITS [options]
  nice -n 10 $NS study label-efficiency --noisy "$OUT/data/atl_noisy" --clean "$OUT/data/atl_clean" \
    --test "$OUT/data/atl_clean" --k "$2" --inits "$3" --seeds 3 --out "$OUT/$1" "${ATL[@]}" "${@:4}"
}

reuse() { .venv/bin/python scripts/reuse_pretraining.py "$OUT/$1" "$OUT/$2" "${@:3}"; }

dk_le denmark_le scratch,noisy,simclr,simclr+noisy
reuse denmark_le denmark_le_lr3e-4 lr=0.0003
dk_le denmark_le_lr3e-4 scratch,noisy --lr 0.0003
reuse denmark_le denmark_le_freeze 'freeze="encoder"'
dk_le denmark_le_freeze noisy --freeze encoder
nice -n 10 $NS study noise --clean "$OUT/data/dk_clean" --test "$OUT/data/dk_clean" \
  --rates 0,0.1,0.2,0.4,0.6 --kinds remove,shift,erode,dilate,flip --k 8 --seeds 2 --out "$OUT/denmark_noise_spec" "${DK[@]}"
nice -n 10 $NS study transfer --noisy "$OUT/data/dk_noisy" --clean "$OUT/data/dk_clean" --test "$OUT/data/dk_clean" \
  --k 8 --seeds 3 --decoders fpn,deeplabv3plus --coarse-classes "cereals=1,2;grassland=4,5;other=3,6" \
  --out "$OUT/denmark_transfer" "${DK[@]}"

atl_le atlanta_le 2,8,32 scratch,noisy                              # before: plain cross-entropy
atl_le atlanta_le_cw 2,8,32,all scratch,noisy --class-weights        # inverse-frequency class weights
reuse atlanta_le_cw atlanta_le_tw 'tiles_with="building"'
atl_le atlanta_le_tw 2,8,32 scratch,noisy --class-weights --tiles-with building
atl_le atlanta_le_tw_sce 2,8,32 noisy --class-weights --tiles-with building --pretrain-loss sce
atl_le atlanta_le_tw_bootstrap 2,8,32 noisy --class-weights --tiles-with building --pretrain-loss bootstrap
reuse atlanta_le_tw atlanta_le_tw_lr lr=0.0003
atl_le atlanta_le_tw_lr 2,8,32 noisy --class-weights --tiles-with building --lr 0.0003
reuse atlanta_le_tw atlanta_le_tw_freeze 'freeze="encoder"'
atl_le atlanta_le_tw_freeze 2,8,32 noisy --class-weights --tiles-with building --freeze encoder
for w in 32; do  # how far a wider model gets on all 182 clean tiles
  [ -f "$OUT/atlanta_ceiling/w$w/test.json" ] && continue
  nice -n 10 $NS finetune --data "$OUT/data/atl_clean" --init none --base-width $w --epochs 80 --batch-size 8 \
    --class-weights --seed 0 --out "$OUT/atlanta_ceiling/w$w" --overwrite
  nice -n 10 $NS evaluate --model "$OUT/atlanta_ceiling/w$w/model.pt" --data "$OUT/data/atl_clean" --split test \
    --out "$OUT/atlanta_ceiling/w$w/test.json"
done
atl_le atlanta_le_w32 2,8,32 scratch,noisy --class-weights --tiles-with building --base-width 32
