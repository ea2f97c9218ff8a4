"""Pattern entities: dates, periods, amounts, places, names, organisations, references."""

from __future__ import annotations

import datetime as dt

import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.components.entities import PetitionEntityExtractor, merge_entities
from nlu.components.identifiers import IdentifierExtractor
from nlu.entities import (
    find_amounts,
    find_case_references,
    find_entities,
    find_orgs,
    find_persons,
    find_places,
    find_times,
)
from nlu.normalise import fold

NOW = dt.datetime(2026, 11, 27, 10, 0)  # a Friday


def values(spans) -> list[tuple[str, str]]:
    """(type, value) of each span."""
    return [(span.type, span.value) for span in spans]


class TestTimes:
    """Chinese dates and periods through jionlp."""

    def test_relative_day(self) -> None:
        """ "上周五" is last week's Friday."""
        assert ("date", "2026-11-20") in values(find_times("上周五我去了信访局", NOW))

    def test_open_range(self) -> None:
        """ "今年3月份开始" runs from March 1st to now."""
        assert ("date", "2026-03-01/2026-11-27") in values(find_times("今年3月份开始拖欠", NOW))

    def test_period(self) -> None:
        """ "两个多月" is a period of about two months."""
        assert ("period", "P2M") in values(find_times("已经两个多月了", NOW))

    def test_house_numbers_and_vague_words_are_not_dates(self) -> None:
        """ "3号楼" and "现在" are no dates."""
        assert find_times("现在住在幸福小区3号楼", NOW) == []

    def test_offsets_cover_the_words(self) -> None:
        """Offsets point at the time expression in the text."""
        text = "我们从去年十月开始反映"
        (span,) = find_times(text, NOW)
        assert "去年十月" in text[span.start : span.end]


class TestAmounts:
    """Money in Chinese or Arabic numerals, as yuan."""

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("拖欠工资三万二", "32000"),
            ("押金5000块", "5000"),
            ("罚款1.2万元", "12000"),
            ("一共欠了两千五百元", "2500"),
            ("欠款30000元", "30000"),
        ],
    )
    def test_amount(self, text: str, value: str) -> None:
        """The amount is normalised to a plain number of yuan."""
        assert ("amount", value) in values(find_amounts(text))

    def test_plain_numbers_are_not_amounts(self) -> None:
        """Numbers without money words are left alone."""
        assert find_amounts("我家住3号楼5单元") == []


class TestPlaces:
    """Divisions by dictionary, smaller units by suffix."""

    @pytest.mark.parametrize(
        ("text", "place"),
        [
            ("我住在潍城区和平路那边", "潍城区和平路"),
            ("老家河南省周口市", "河南省周口市"),
            ("在甘肃天水干活的时候出的事", "甘肃天水"),
            ("诸城市相州镇前凉台村", "诸城市相州镇前凉台村"),
            ("我们是前进村的", "前进村"),
            ("K8县冷水镇政府不管", "K8县冷水镇"),
            ("丽景湾小区3号楼", "丽景湾小区"),
        ],
    )
    def test_place(self, text: str, place: str) -> None:
        """The place is found whole, without the words around it."""
        assert ("place", place) in values(find_places(text))

    @pytest.mark.parametrize("text", ["村里修路的钱被贪了", "我们小区的物业", "请问这个归城管吗"])
    def test_common_words_are_not_places(self, text: str) -> None:
        """ "修路", "我们小区", "城管" are not place names."""
        assert find_places(text) == []


class TestPersons:
    """Names after cue words, before honorifics, or alone."""

    @pytest.mark.parametrize(
        ("text", "name"),
        [
            ("我叫王建国", "王建国"),
            ("我是吴桂兰的儿子", "吴桂兰"),
            ("姓张，弓长张", "张"),
            ("我姓慕容", "慕容"),
            ("彭女士", "彭"),
            ("李秀英", "李秀英"),
            ("本人赵德胜，电话在下面", "赵德胜"),
        ],
    )
    def test_person(self, text: str, name: str) -> None:
        """The name is found without the cue word."""
        assert ("person", name) in values(find_persons(text))

    @pytest.mark.parametrize("text", ["我是业主", "我是退休工人", "好的"])
    def test_roles_are_not_names(self, text: str) -> None:
        """Roles and short answers are not names."""
        assert find_persons(text) == []


class TestOrgsAndReferences:
    """Organisations by suffix; case references by shape."""

    def test_company(self) -> None:
        """A company name is found whole."""
        assert ("org", "宏达建筑工程有限公司") in values(find_orgs("单位是宏达建筑工程有限公司"))

    def test_verbs_before_an_org_are_left_out(self) -> None:
        """ "投诉M3县天河医院" gives the hospital, not the verb."""
        assert ("org", "M3县天河医院") in values(find_orgs("投诉M3县天河医院"))

    def test_case_reference(self) -> None:
        """References are upper-cased and tolerate full-width characters and spaces."""
        assert values(find_case_references(fold("查一下ｘｆ-2026-000123"))) == [
            ("case_reference", "XF-2026-000123")
        ]


class TestExtractorComponent:
    """The Rasa component: offsets on the original text, exact identifiers win."""

    def test_entities_on_the_message(self) -> None:
        """Pattern entities are added with offsets into the original text."""
        text = "我叫王建國，欠我工資３萬２"
        message = Message({TEXT: text})
        PetitionEntityExtractor().process([message])
        entities = {e["entity"]: e for e in message.get(ENTITIES)}
        assert entities["person"]["value"] == "王建国"
        assert text[entities["person"]["start"] : entities["person"]["end"]] == "王建國"
        assert entities["amount"]["value"] == "32000"

    def test_phone_digits_are_not_amounts_or_dates(self) -> None:
        """A phone number found first keeps its digits."""
        message = Message({TEXT: "电话：１３８-0013-8000，欠款5000元"})
        IdentifierExtractor().process([message])
        PetitionEntityExtractor().process([message])
        kinds = [(e["entity"], e["value"]) for e in message.get(ENTITIES)]
        assert ("phone", "13800138000") in kinds
        assert ("amount", "5000") in kinds
        assert not any(kind == "date" for kind, _ in kinds)

    def test_pattern_entities_replace_overlapping_crf_guesses(self) -> None:
        """A trained extractor's overlapping guess gives way; others stay."""
        crf = [
            {"entity": "place", "start": 0, "end": 2, "value": "我叫"},
            {"entity": "org", "start": 10, "end": 12, "value": "x"},
        ]
        found = [{"entity": "person", "start": 2, "end": 5, "value": "王建国"}]
        merged = merge_entities(crf, found)
        assert [e["value"] for e in merged] == ["我叫", "王建国", "x"] or [
            e["value"] for e in merged
        ] == ["王建国", "x"]
        assert {"entity": "org", "start": 10, "end": 12, "value": "x"} in merged

    def test_long_and_empty_messages(self) -> None:
        """A 3,000-character letter and an empty message do not crash."""
        assert find_entities("") == []
        long_text = fold("尊敬的领导：我们小区物业不作为，" * 190)
        assert all(span.end <= len(long_text) for span in find_entities(long_text))
