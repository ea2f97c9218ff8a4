"""Urgency grading from the bureau's YAML rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.components.grading import GRADE, Grade, Rule, UrgencyGrader, grade, load_rules

RULES = Path(__file__).resolve().parents[2] / "nlu" / "rules" / "urgency.yml"
JULY = dt.date(2026, 7, 15)
JANUARY = dt.date(2026, 1, 10)


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    """The project's rules."""
    return load_rules(RULES)


class TestProjectRules:
    """The shipped rules grade typical messages as the bureau expects."""

    def test_ordinary_complaint_is_normal(self, rules) -> None:
        """A plain complaint stays in the normal queue."""
        result = grade("小区路灯坏了两个月", rules, JULY)
        assert result.grade is Grade.NORMAL
        assert result.reasons == []

    @pytest.mark.parametrize(
        "text",
        [
            "再不解决我就不想活了",
            "逼急了我就跟他同归于尽",
            "楼道里燃气泄漏，味道很大",
            "我們實在活不下去了",
        ],
    )
    def test_emergencies(self, rules, text: str) -> None:
        """Self-harm, violence and immediate danger are emergencies (traditional too)."""
        assert grade(text, rules, JULY).grade is Grade.EMERGENCY

    def test_collective_petition_is_sensitive(self, rules) -> None:
        """A joint letter from many households goes to the green channel."""
        result = grade("我们三十多户业主联名反映物业问题", rules, JULY)
        assert result.grade is Grade.SENSITIVE
        assert "collective" in result.reasons

    def test_wage_arrears_before_spring_festival(self, rules) -> None:
        """Wage arrears are sensitive in the winter months, or when a holiday is named."""
        assert grade("老板拖欠工资三个月", rules, JANUARY).grade is Grade.SENSITIVE
        assert grade("老板拖欠工资三个月", rules, JULY).grade is Grade.NORMAL
        assert grade("老板拖欠工资，我们回家过年都没钱", rules, JULY).grade is Grade.SENSITIVE
        assert grade("老板欠我们三十多个工人工资", rules, JANUARY).grade is Grade.SENSITIVE

    def test_unless_words_cancel_a_rule(self, rules) -> None:
        """ "不会自杀" is not a threat of self-harm."""
        assert "self_harm" not in grade("放心，我不会自杀的", rules, JULY).reasons

    def test_highest_grade_wins_and_all_reasons_are_listed(self, rules) -> None:
        """Several matching rules: the top grade, every rule id as a reason."""
        result = grade("我们几十户村民联名，再拖下去有人要跳楼了", rules, JULY)
        assert result.grade is Grade.EMERGENCY
        assert {"collective", "self_harm"} <= set(result.reasons)


class TestRuleFile:
    """Malformed rule files fail loudly, naming the rule."""

    def test_unknown_grade_is_rejected(self, tmp_path: Path) -> None:
        """A typo in a grade is an error, not a silent normal."""
        path = tmp_path / "rules.yml"
        path.write_text("rules:\n  - id: x\n    grade: urgent\n    any: [火]\n", "utf-8")
        with pytest.raises(ValueError, match="'x'"):
            load_rules(path)

    def test_rule_needs_words(self, tmp_path: Path) -> None:
        """A rule without cue words is an error."""
        path = tmp_path / "rules.yml"
        path.write_text("rules:\n  - id: y\n    grade: sensitive\n", "utf-8")
        with pytest.raises(ValueError, match="any"):
            load_rules(path)


class TestUrgencyGrader:
    """The component copies the rules into the model and grades every message."""

    def test_grade_on_message_after_loading(
        self, model_storage, resource, execution_context
    ) -> None:
        """A grader loaded from the model sets petition_grade with grade and reasons."""
        config = {"rules_path": str(RULES)}
        UrgencyGrader.create(config, model_storage, resource, execution_context).train(
            TrainingData()
        )
        loaded = UrgencyGrader.load(config, model_storage, resource, execution_context)
        message = Message({TEXT: "工地着火了，有人被困"})
        loaded.process([message])
        assert message.get(GRADE)["grade"] == "emergency"
        assert "safety_hazard_now" in message.get(GRADE)["reasons"]
        assert "petition_grade" in message.as_dict(only_output_properties=True)
