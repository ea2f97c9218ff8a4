"""Learning curve of the category model: macro-F1 against the share of examples trained on.

Trains the category model (the settings of config.yml) on a stratified share of the
project's examples in nlu/data/categories, several times with different draws, and scores
each on a labelled CSV (by default ../shared/data/govmsg/dev_labeled.csv: measurement
only, never trained on). The model alone is timed and scored, without the rest of the Rasa
pipeline; `make eval-nlu` gives the same macro-F1 for the full share.

A curve still rising at 100 % says more examples of the same kind would help; a flat one
says they would not, and the next figure has to come from other data (the bureau's own
labelled letters, `make train EXTRA_DATA=file.csv`). The full model's figure comes with
its 95 % bootstrap interval: the width of that interval is how precisely a file of that
size can tell two models apart.

Run with `make learning-curve` (about half a minute); the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu.categories import Example, read_examples  # noqa: E402
from nlu.components.category_classifier import PetitionCategoryClassifier  # noqa: E402
from nlu.components.category_model import CategoryModel  # noqa: E402
from nlu.evaluate import bootstrap_interval, macro_f1, read_labelled  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
COMPONENT = f"{PetitionCategoryClassifier.__module__}.{PetitionCategoryClassifier.__name__}"
FRACTIONS = (0.125, 0.25, 0.5, 0.75, 1.0)


def category_settings(config: Path) -> dict[str, Any]:
    """The category component's settings in a Rasa config file, over its defaults."""
    pipeline = yaml.safe_load(config.read_text("utf-8")).get("pipeline") or []
    for step in pipeline:
        if step.get("name") == COMPONENT:
            settings = {k: v for k, v in step.items() if k != "name"}
            return {**PetitionCategoryClassifier.get_default_config(), **settings}
    raise ValueError(f"{config} has no {COMPONENT} in its pipeline")


def stratified_share(examples: Sequence[Example], share: float, seed: int) -> list[Example]:
    """A random `share` of every category's examples (at least two of each, if it has two)."""
    if not 0 < share <= 1:
        raise ValueError("the share must be in (0, 1]")
    by_category: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_category[example.level1].append(example)
    draw = random.Random(seed)  # noqa: S311 (a reproducible resample, not a secret)
    chosen: list[Example] = []
    for category in sorted(by_category):
        items = by_category[category]
        count = min(len(items), max(2, round(len(items) * share)))
        chosen.extend(draw.sample(items, count))
    return chosen


def score(
    training: Sequence[Example], test: Sequence[tuple[str, str]], settings: dict[str, Any]
) -> tuple[float, list[str]]:
    """Macro-F1 on `test` of a model fitted on `training`, and its predictions."""
    model = CategoryModel.fit(
        [example.text for example in training],
        [example.level1 for example in training],
        [example.level2 for example in training],
        ngrams=(1, int(settings["ngram_max"])),
        alpha=float(settings["alpha"]),
        max_features=int(settings["max_features"]),
    )
    predicted = [prediction.ranking[0][0] for prediction in model.predict([t for t, _ in test])]
    return macro_f1([label for _, label in test], predicted), predicted


def main(argv: Sequence[str] | None = None) -> int:
    """Prints one line per share, then all figures as one JSON object on the last line."""
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--config", type=Path, default=ROOT / "config.yml")
    arguments.add_argument("--data", type=Path, default=SHARED / "govmsg" / "dev_labeled.csv")
    arguments.add_argument("--draws", type=int, default=3, help="draws per share below 100 %%")
    arguments.add_argument("--shares", type=float, nargs="+", default=list(FRACTIONS))
    options = arguments.parse_args(argv)
    settings = category_settings(options.config)
    examples = read_examples(sorted((ROOT / settings["data_path"]).glob("*.csv")))
    test = read_labelled(options.data)
    if not examples or not test:
        print("no examples or no labelled messages to score", file=sys.stderr)
        return 1
    print(f"== category model on {options.data} (n={len(test)}), {len(examples)} examples")
    print("share   examples   macro-F1 mean   (min - max)   seconds per fit")
    curve: list[dict[str, Any]] = []
    full: dict[str, Any] = {}
    for share in sorted(options.shares):
        draws = 1 if share >= 1 else options.draws
        values: list[float] = []
        start = time.perf_counter()
        size = 0
        for seed in range(1, draws + 1):
            training = stratified_share(examples, share, seed)
            size = len(training)
            value, predicted = score(training, test, settings)
            values.append(value)
            if share >= 1:
                gold = [label for _, label in test]
                full = {"macro_f1": round(value, 4), "ci95": bootstrap_interval(gold, predicted)}
        seconds = (time.perf_counter() - start) / draws
        point = {
            "share": share,
            "examples": size,
            "macro_f1_mean": round(statistics.fmean(values), 4),
            "macro_f1_min": round(min(values), 4),
            "macro_f1_max": round(max(values), 4),
        }
        curve.append(point)
        print(
            f"{share:>5.3f}   {size:>8}   {point['macro_f1_mean']:>13.4f}   "
            f"({point['macro_f1_min']:.4f} - {point['macro_f1_max']:.4f})   {seconds:>6.1f}"
        )
    if full:
        print(f"all examples: macro-F1 {full['macro_f1']}, 95 % bootstrap interval {full['ci95']}")
    print(json.dumps({"n": len(test), "curve": curve, "all": full}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
