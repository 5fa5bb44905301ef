"""`make bench`: runs every benchmark and prints ratios measured in the same run.

Usage: python benchmarks/run.py --out bench_out [--only export] [--size 20000]
       python benchmarks/run.py --only quality [--variant NAME]   (make bench-quality)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore", message="Valid PROJ data directory not found")

BENCHES = ("export", "predict", "train", "quality", "vectorize")
DEFAULT = ("export", "predict", "train", "vectorize")  # quality runs only with --only quality (7 min on 2 idle cores)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench_out")
    parser.add_argument("--only", choices=BENCHES, action="append")
    parser.add_argument("--size", type=int, default=20000, help="export grid side in pixels (default 20000)")
    parser.add_argument("--no-label-efficiency", action="store_true", help="skip the (long) label-efficiency run")
    parser.add_argument("--vectorize-sizes", default="5000,20000", help="raster sides for the vectorize runs")
    parser.add_argument("--variant", default="defaults", help="quality: the experiment variant (bench_quality.VARIANTS)")
    parser.add_argument("--predict-sizes", default="4096,16384", help="raster sides for the prediction memory runs")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"machine": {"python": platform.python_version(), "cpu_count": __import__("os").cpu_count(),
                           "platform": platform.platform()}}
    for name in args.only or DEFAULT:
        if name == "export":
            import bench_export

            results["export"] = bench_export.run(out / "export", size=args.size)
            print(bench_export.report(results["export"]), flush=True)
        if name == "predict":
            import bench_predict

            sizes = tuple(int(v) for v in args.predict_sizes.split(","))
            results["predict"] = bench_predict.run(out / "predict", sizes=sizes)
            print(bench_predict.report(results["predict"]), flush=True)
        if name == "vectorize":
            import bench_vectorize

            sizes = tuple(int(v) for v in args.vectorize_sizes.split(","))
            results["vectorize"] = bench_vectorize.run(out / "vectorize", sizes=sizes)
            print(bench_vectorize.report(results["vectorize"]), flush=True)
        if name == "train":
            import bench_train

            results["train"] = bench_train.run(out / "train", efficiency=not args.no_label_efficiency)
            print(bench_train.report(results["train"]), flush=True)
        if name == "quality":
            import bench_quality

            results["quality"] = bench_quality.run(out / "quality", variant=args.variant)
            print(bench_quality.report(results["quality"]), flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
