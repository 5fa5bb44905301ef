"""Start study NEW with the pretrained models of study BASE, so that a fine-tuning variant is
compared on the same pretrained model (pretraining is reproducible only for a fixed thread
count; see docs/results.md, "Pretraining variance").

Usage: python scripts/reuse_pretraining.py BASE NEW key=JSON ...   (e.g. lr=0.0003 'freeze="encoder"')
Each key=JSON replaces one setting in NEW's study.json; the study refuses to resume if the
command's settings then differ. Does nothing when NEW already has a study.json.
"""

import json
import shutil
import sys
from pathlib import Path


def main(base: Path, new: Path, changes: list[str]) -> None:
    if (new / "study.json").exists():
        return
    study = json.loads((base / "study.json").read_text(encoding="utf-8"))
    for change in changes:
        key, _, value = change.partition("=")
        if key not in study["settings"]:
            sys.exit(f"reuse_pretraining: {key!r} is not a setting of {base}")
        study["settings"][key] = json.loads(value)
    study["command"] = ["(pretrained models reused from", str(base), ")"]
    staging = new.with_name(new.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(base / "pretrain", staging / "pretrain")
    for record in (staging / "pretrain").glob("*/pretrained.json"):
        record.write_text(record.read_text(encoding="utf-8").replace(f"{base}/", f"{new}/"), encoding="utf-8")
    (staging / "study.json").write_text(json.dumps(study, indent=2), encoding="utf-8")
    staging.rename(new)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), sys.argv[3:])
