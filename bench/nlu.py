"""NLU benchmark: category figures on a labelled CSV, out-of-scope rate, speed, training.

Reads the measurement data in ../shared/data (never part of the repository, never
trained on). Run with `make bench`; every figure is printed with what produced it.

  1. category accuracy, macro-F1 (labels present in the file) with its 95 % bootstrap
     interval, per-class F1 and the confusion matrix on govmsg/dev_labeled.csv, through
     the whole Rasa NLU pipeline;
  2. parse time per message: median and 95th percentile (one process, one core);
  3. out-of-scope: share of smp2017 requests (none is a petition) given the intent
     file_petition, and share given a confident category;
  4. bad input: empty, emoji, traditional characters, a 3,000-character letter,
     mixed Chinese and English, full-width digits, invisible characters;
  5. training time of the full model (`rasa train`, pinned to two cores) and model size;
  6. originality: no 20-character run of nlu/data equals text in ../shared/data.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu.evaluate import (  # noqa: E402
    Parser,
    Scored,
    bootstrap_interval,
    evaluate,
    read_labelled,
    summary,
)

SHARED = ROOT.parent / "shared" / "data"
RUN = 20


def confusion(results: Sequence[Scored]) -> str:
    """The confusion matrix as text: rows are labels, columns predictions."""
    labels = sorted({r.gold for r in results} | {r.predicted or "-" for r in results})
    counts = Counter((r.gold, r.predicted or "-") for r in results)
    short = {label: label[:4] for label in labels}
    lines = ["gold \\ predicted".ljust(18) + "".join(short[p].rjust(6) for p in labels)]
    for gold in sorted({r.gold for r in results}):
        cells = "".join(str(counts.get((gold, p), 0) or ".").rjust(6) for p in labels)
        lines.append(short[gold].ljust(18) + cells)
    return "\n".join(lines)


def smp_texts(path: Path) -> list[str]:
    """The requests of the smp2017 file."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle) if row.get("text")]


def out_of_scope(parser: Parser, texts: Sequence[str]) -> dict[str, Any]:
    """How many everyday requests the pipeline would take for a petition."""
    intents: Counter[str] = Counter()
    confident = 0
    times: list[float] = []
    examples: list[str] = []
    for text in texts:
        parse, ms = parser.parse(text)
        times.append(ms)
        intent = (parse.get("intent") or {}).get("name") or "-"
        intents[intent] += 1
        if intent == "file_petition" and len(examples) < 10:
            examples.append(text)
        if not (parse.get("petition_category") or {}).get("unsure", True):
            confident += 1
    n = len(texts)
    return {
        "n": n,
        "false_petition_rate": round(intents["file_petition"] / n, 4),
        "confident_category_rate": round(confident / n, 4),
        "intents": dict(intents.most_common()),
        "median_ms": round(statistics.median(times), 2),
        "examples_taken_for_petitions": examples,
    }


BAD_INPUTS = {
    "empty": "",
    "emoji only": "😡😡😡👎",
    "traditional": "我們社區的電梯壞了三個月，物業公司一直不處理，老人只能爬樓梯",
    "long letter": "尊敬的领导：我们小区的物业公司长期不作为，"
    + "电梯坏了没人修，垃圾没人清运，" * 200,
    "mixed zh/en": "我在Apple Store买的iPhone坏了，after-sales说不保修，商家拒绝退货",
    "full-width digits": "我的电话是１３８００１３８０００，欠我工资３２０００元",
    "invisible chars": "物\u200b业\u200d乱\u202e收\u2066费，\ufeff停车费一个月三百",
}


def bad_input(parser: Parser) -> dict[str, Any]:
    """What the pipeline makes of awkward messages (none may crash)."""
    report: dict[str, Any] = {}
    for name, text in BAD_INPUTS.items():
        parse, ms = parser.parse(text)
        category = parse.get("petition_category") or {}
        report[name] = {
            "intent": (parse.get("intent") or {}).get("name"),
            "category": category.get("name"),
            "top": [item["name"] for item in category.get("ranking") or []][:1],
            "unsure": category.get("unsure"),
            "grade": (parse.get("petition_grade") or {}).get("grade"),
            "entities": [(e["entity"], e["value"]) for e in parse.get("entities") or []],
            "ms": round(ms, 1),
        }
    return report


def training(root: Path) -> dict[str, Any]:
    """Trains the full model from scratch on two cores into a temporary folder."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            "taskset", "-c", "0,1",
            str(root / ".venv/bot/bin/rasa"), "train", "--config", "config.yml",
            "--domain", "bot/domain", "--data", "bot/data", "nlu/data/intents",
            "--out", out, "--fixed-model-name", "bench", "--force", "--quiet",
        ]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, cwd=root, check=True, capture_output=True, env=os.environ.copy())
        seconds = time.perf_counter() - start
        size = (Path(out) / "bench.tar.gz").stat().st_size
    return {"seconds": round(seconds, 1), "model_bytes": size}


def ngrams(texts: Iterable[str], n: int = RUN) -> set[str]:
    """Every run of `n` characters (whitespace removed) of the texts."""
    runs: set[str] = set()
    for text in texts:
        compact = "".join(text.split())
        runs.update(compact[i : i + n] for i in range(len(compact) - n + 1))
    return runs


def originality(root: Path, shared: Path) -> dict[str, Any]:
    """Runs of RUN characters shared between our training data and the public data."""
    ours = [p.read_text(encoding="utf-8") for p in (root / "nlu" / "data").rglob("*.*")]
    runs = ngrams(ours)
    copied: set[str] = set()
    for path in shared.rglob("*.csv"):
        compact = "".join(path.read_text(encoding="utf-8", errors="replace").split())
        for i in range(len(compact) - RUN + 1):
            if compact[i : i + RUN] in runs:
                copied.add(compact[i : i + RUN])
    return {"runs_checked": len(runs), "copied_runs": sorted(copied)[:20], "n_copied": len(copied)}


def main(argv: Sequence[str] | None = None) -> int:
    """Prints every figure, then all of them as one JSON object on the last line."""
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--model", type=Path, default=ROOT / "models/petition.tar.gz")
    arguments.add_argument("--data", type=Path, default=SHARED / "govmsg" / "dev_labeled.csv")
    arguments.add_argument(
        "--smp", type=Path, default=SHARED / "smp2017" / "smp2017_train_develop.csv"
    )
    arguments.add_argument("--skip-training", action="store_true")
    options = arguments.parse_args(argv)
    figures: dict[str, Any] = {"model": str(options.model)}
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    parser = Parser(options.model)
    try:
        parser.parse("预热")
        results = evaluate(parser, read_labelled(options.data))
        figures["category"] = summary(results)
        figures["category"]["macro_f1_ci95"] = bootstrap_interval(
            [r.gold for r in results], [r.predicted for r in results]
        )
        times = sorted(r.ms for r in results)
        figures["category"]["median_ms"] = round(statistics.median(times), 2)
        figures["category"]["p95_ms"] = round(times[int(0.95 * (len(times) - 1))], 2)
        figures["category"]["unsure"] = sum(r.unsure for r in results)
        confident = [r for r in results if not r.unsure]
        figures["category"]["confident_share"] = round(len(confident) / len(results), 4)
        figures["category"]["accuracy_when_confident"] = round(
            sum(r.gold == r.predicted for r in confident) / max(len(confident), 1), 4
        )
        figures["category"]["top3_accuracy"] = round(
            sum(r.gold in r.top3 for r in results) / len(results), 4
        )
        print(f"== categories on {options.data} (n={len(results)})")
        print(json.dumps(figures["category"], ensure_ascii=False, indent=1))
        print(confusion(results))
        if options.smp.exists():
            figures["out_of_scope"] = out_of_scope(parser, smp_texts(options.smp))
            print(f"== out of scope on {options.smp}")
            print(json.dumps(figures["out_of_scope"], ensure_ascii=False, indent=1))
        figures["bad_input"] = bad_input(parser)
        print("== bad input")
        print(json.dumps(figures["bad_input"], ensure_ascii=False, indent=1))
    finally:
        parser.close()
    if not options.skip_training:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        figures["training"] = training(ROOT)
        print("== training (rasa train --force, two cores)")
        print(json.dumps(figures["training"]))
    figures["model_bytes"] = options.model.stat().st_size
    if SHARED.exists():
        figures["originality"] = originality(ROOT, SHARED)
        print(f"== originality ({RUN}-character runs shared with ../shared/data)")
        print(json.dumps(figures["originality"], ensure_ascii=False))
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
