"""`make eval-nlu DATA=file.csv`: category accuracy and F1 of the trained model on a CSV.

Reads the columns 留言主题, 留言详情 and 一级分类 (others are ignored), sends subject and
body as one message through the whole Rasa NLU pipeline and compares the top-ranked
category with the label. Macro-F1 averages the F1 of the labels present in the file.
The last line printed is one JSON object:
{"n", "accuracy", "macro_f1", "per_class": {label: f1}, "ms_per_message"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlu.categories import BODY, LEVEL1, SUBJECT, petition_text, read_rows


@dataclass(frozen=True)
class Scored:
    """One evaluated message: the label, the prediction and the parse time."""

    gold: str
    predicted: str | None
    top3: list[str]
    unsure: bool
    ms: float


def predicted_category(parse: dict[str, Any]) -> tuple[str | None, list[str], bool]:
    """The best category of a parse result (the top of the ranking even when unsure)."""
    category = parse.get("petition_category") or {}
    ranking = [str(item["name"]) for item in category.get("ranking") or []]
    best = category.get("name") or (ranking[0] if ranking else None)
    return best, ranking[:3], bool(category.get("unsure", True))


def f1_scores(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, float]:
    """F1 of every label that occurs in `gold` (a wrong prediction costs both sides)."""
    scores: dict[str, float] = {}
    for label in sorted(set(gold)):
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        scores[label] = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    return scores


def macro_f1(gold: Sequence[str], predicted: Sequence[str | None]) -> float:
    """The mean F1 of the labels that occur in `gold`."""
    per_class = f1_scores(gold, predicted)
    return statistics.fmean(per_class.values()) if per_class else 0.0


def bootstrap_interval(
    gold: Sequence[str],
    predicted: Sequence[str | None],
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 7,
) -> tuple[float, float]:
    """Percentile bootstrap interval of macro-F1, drawing the messages with replacement.

    On a file of a hundred or so letters, this is how far the figure could move with the
    luck of which letters the file happens to hold."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted labels differ in length")
    if not gold:
        return (0.0, 0.0)
    draw = random.Random(seed)  # noqa: S311 (a reproducible resample, not a secret)
    rows = range(len(gold))
    values = sorted(
        macro_f1([gold[i] for i in picked], [predicted[i] for i in picked])
        for picked in (draw.choices(rows, k=len(gold)) for _ in range(resamples))
    )
    tail = (1 - level) / 2
    low = values[int(tail * (resamples - 1))]
    high = values[int(round((1 - tail) * (resamples - 1)))]
    return (round(low, 4), round(high, 4))


def summary(results: Sequence[Scored]) -> dict[str, Any]:
    """The evaluation JSON: n, accuracy, macro_f1, per_class, ms_per_message (mean)."""
    gold = [r.gold for r in results]
    predicted = [r.predicted for r in results]
    per_class = f1_scores(gold, predicted)
    n = len(results)
    return {
        "n": n,
        "accuracy": round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / n, 4)
        if n
        else 0.0,
        "macro_f1": round(macro_f1(gold, predicted), 4),
        "per_class": {label: round(value, 4) for label, value in per_class.items()},
        "ms_per_message": round(statistics.fmean(r.ms for r in results), 2) if n else 0.0,
    }


def read_labelled(path: Path) -> list[tuple[str, str]]:
    """(text, label) pairs of a CSV; rows without a label or text are skipped."""
    pairs: list[tuple[str, str]] = []
    for row in read_rows(path):
        text = petition_text(row.get(SUBJECT, ""), row.get(BODY, ""))
        label = row.get(LEVEL1, "").strip()
        if text and label:
            pairs.append((text, label))
    return pairs


class Parser:
    """The trained Rasa model's NLU pipeline, timed per message."""

    def __init__(self, model: Path) -> None:
        """Loads the model archive (this takes a few seconds: TensorFlow comes along)."""
        from rasa.core.agent import Agent  # heavy; only when evaluating
        from rasa.utils.log_utils import configure_structlog

        # Rasa logs every parsed text at debug level: keep messages out of the output.
        configure_structlog(logging.WARNING)
        self._agent = Agent.load(str(model))
        self._loop = asyncio.new_event_loop()

    def parse(self, text: str) -> tuple[dict[str, Any], float]:
        """The parse result of one message and the milliseconds it took."""
        start = time.perf_counter()
        result: dict[str, Any] = self._loop.run_until_complete(self._agent.parse_message(text))
        return result, (time.perf_counter() - start) * 1000

    def close(self) -> None:
        """Closes the event loop."""
        self._loop.close()


def evaluate(parser: Parser, pairs: Sequence[tuple[str, str]]) -> list[Scored]:
    """Parses every text and scores its category."""
    results: list[Scored] = []
    for text, label in pairs:
        parse, ms = parser.parse(text)
        best, top3, unsure = predicted_category(parse)
        results.append(Scored(label, best, top3, unsure, ms))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: evaluate a model on a labelled CSV file."""
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("data", type=Path, help="CSV with 留言主题, 留言详情, 一级分类")
    arguments.add_argument("--model", type=Path, default=Path("models/petition.tar.gz"))
    options = arguments.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not options.data.is_file():
        print(f"no such file: {options.data}", file=sys.stderr)
        return 2
    columns = set(next(read_rows(options.data), {}))
    missing = {SUBJECT, BODY, LEVEL1} - columns
    if columns and missing:
        print(f"{options.data} lacks the columns {sorted(missing)}", file=sys.stderr)
        return 2
    pairs = read_labelled(options.data)
    if not pairs:
        print(f"no labelled rows in {options.data}", file=sys.stderr)
        print(json.dumps(summary([]), ensure_ascii=False))
        return 0
    parser = Parser(options.model)
    try:
        parser.parse("预热")  # the first parse loads lazy resources; do not time it
        results = evaluate(parser, pairs)
    finally:
        parser.close()
    unsure = sum(r.unsure for r in results)
    top3 = sum(r.gold in r.top3 for r in results)
    median = statistics.median(r.ms for r in results)
    print(f"unsure: {unsure}/{len(results)}; gold label in top three: {top3}/{len(results)}")
    print(f"median ms per message: {median:.2f}")
    print(json.dumps(summary(results), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
