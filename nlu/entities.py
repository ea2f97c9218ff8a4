"""Entities in petition text found by patterns and field libraries, not by a trained model.

Dates and periods come from jionlp's time parser, amounts from cn2an, administrative
places from jionlp's division dictionary (shipped in its wheel); names, organisations,
smaller places and case references from suffix and cue-word patterns. Every function takes
text already folded one-to-one (`nlu.normalise.fold`), so offsets are the original's.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Span:
    """An entity found in text: type, normalised value and offsets."""

    type: str
    value: str
    start: int
    end: int


_CJK = "\u4e00-\u9fa5"

# --- case references -------------------------------------------------------------------

_CASE_REFERENCE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2,4})\s*-\s*(\d{4})\s*-\s*(\d{6})(?!\d)")


def find_case_references(text: str) -> list[Span]:
    """Case references like XF-2026-000123 (any 2-4 letter prefix), upper-cased."""
    return [
        Span("case_reference", f"{m[1].upper()}-{m[2]}-{m[3]}", m.start(), m.end())
        for m in _CASE_REFERENCE.finditer(text)
    ]


# --- amounts -----------------------------------------------------------------------------

_NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿点]+)"
_AMOUNT = re.compile(
    rf"(?P<num>{_NUM})\s*(?P<scale>[万千])?\s*(?P<unit>元|块钱|块|圆|人民币)"
    rf"|(?P<cue>工资|欠款|欠|钱|费|款|赔偿|补偿|押金|罚款|补贴|共计|合计|总共)(?:了|我|我们|他|共)?"
    rf"(?P<num2>\d+(?:\.\d+)?[万千]\d?|[一二两三四五六七八九十百]+[万千][零一二两三四五六七八九十百千]*)"
)


_SPOKEN = re.compile(r"(\d+)([万千])(\d)")
_SCALE = {"万": 10_000, "千": 1_000}


def _to_number(text: str) -> float | None:
    spoken = _SPOKEN.fullmatch(text)
    if spoken:  # "3万2" is 32,000, as "三万二" is
        scale = _SCALE[spoken[2]]
        return float(int(spoken[1]) * scale + int(spoken[3]) * scale // 10)
    import cn2an  # type: ignore[import-untyped]  # heavy: only when a number is there

    try:
        return float(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def find_amounts(text: str) -> list[Span]:
    """Money amounts ("三万二", "5000块", "1.2万元") as yuan, e.g. value "32000"."""
    found: list[Span] = []
    for match in _AMOUNT.finditer(text):
        if match["num"] is not None:
            number = _to_number(match["num"] + (match["scale"] or ""))
            start = match.start("num")
        else:
            number = _to_number(match["num2"])
            start = match.start("num2")
        if number is None or number <= 0:
            continue
        value = f"{number:.2f}".rstrip("0").rstrip(".")
        found.append(Span("amount", value, start, match.end()))
    return found


# --- dates and periods ---------------------------------------------------------------------


def _iso(value: Any) -> str:
    return str(value).split(" ")[0]


def _duration(detail: dict[str, Any]) -> str:
    units = (("year", "Y"), ("month", "M"), ("day", "D"))
    times = (("hour", "H"), ("minute", "M"), ("second", "S"))
    date = "".join(f"{float(detail[k]):g}{u}" for k, u in units if detail.get(k))
    time = "".join(f"{float(detail[k]):g}{u}" for k, u in times if detail.get(k))
    return "P" + date + ("T" + time if time else "") if date or time else ""


_VAGUE_TIMES = frozenset(
    "现在 目前 如今 当前 此时 当时 这时 那时 一直 以前 之前 以后 之后 最近 近期".split()
)
# "3号楼", "5号院": house numbers, not dates.
_NOT_AFTER_DATE = frozenset("楼栋院门室铺")


# jionlp's time parser takes about 1 ms per 100 characters; a long letter is read up to here.
TIME_SCAN_CHARS = 400


class _QuietJionlp(logging.Filter):
    """Drops jionlp's tracebacks for strings it cannot parse: noise, and they quote the
    petitioner's words into the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keeps every record that does not come from jionlp."""
        return f"{os.sep}jionlp{os.sep}" not in record.pathname


_QUIET = _QuietJionlp()


def find_times(text: str, now: dt.datetime | None = None) -> list[Span]:
    """Dates ("上周五", "今年3月份开始") as ISO dates or ranges; periods ("两个多月") as
    ISO 8601 durations (P2M). Only the first TIME_SCAN_CHARS characters are read."""
    text = text[:TIME_SCAN_CHARS]
    if not re.search(r"[\d年月日号天周期礼拜昨今明前后去上下个多半]", text):
        return []
    import jionlp  # type: ignore[import-untyped]  # heavy: loaded on first use

    if _QUIET not in logging.getLogger().filters:
        logging.getLogger().addFilter(_QUIET)
    base = (now or dt.datetime.now()).timestamp()
    try:
        items = jionlp.ner.extract_time(text, time_base=base, with_parsing=True)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return []
    found: list[Span] = []
    for item in items:
        start, end = item["offset"]
        if item["text"] in _VAGUE_TIMES or text[end : end + 1] in _NOT_AFTER_DATE:
            continue
        detail = item.get("detail") or {}
        kind = detail.get("type", item.get("type"))
        times = detail.get("time")
        if kind in ("time_delta", "time_period") and isinstance(times, dict):
            value = _duration(times)
            if value:
                found.append(Span("period", value, start, end))
        elif isinstance(times, list) and len(times) == 2:
            first, last = _iso(times[0]), _iso(times[1])
            found.append(Span("date", first if first == last else f"{first}/{last}", start, end))
    return found


# --- places --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _divisions() -> frozenset[str]:
    """Province, city and county names with and without their suffix, from jionlp."""
    import jionlp  # type: ignore[import-untyped]

    names: set[str] = set()

    def walk(node: dict[str, Any], depth: int) -> None:
        """Collects the names below `node` of jionlp's nested division dictionary.

        Short aliases only for provinces and cities ("甘肃", "天水"): county aliases such
        as 长顺 or 玉龙 are common given names and words.
        """
        for key, child in node.items():
            if key.startswith("_") or not isinstance(child, dict):
                continue
            names.add(key)
            if depth <= 1:
                alias = child.get("_alias")
                aliases = [alias] if isinstance(alias, str) else alias or []
                names.update(a for a in aliases if isinstance(a, str) and len(a) >= 2)
            walk(child, depth + 1)

    walk(jionlp.china_location_loader(), 0)
    return frozenset(name for name in names if len(name) >= 2)


_PLACE_SUFFIX = re.compile(
    r"(自治区|自治州|街道|社区|小区|花园|家园|华庭|新村|新城|工业园|开发区|高新区|"
    r"水库|广场|大道|省|市|区|县|镇|乡|村|庄|屯|堡|沟|营子|苑|路|街|巷)"
)
# Characters that end a name when walking left from its suffix.
_STOP = set(
    "在住是的到了我你他她它们与及从向把被给说叫这那个去来对于位址点某本该全整各每哪要想过找"
    "，,。.;；:：!！?？、 \t\n()（）\"'“”"
)
_NOT_PLACES = frozenset(
    "修路 马路 道路 公路 走路 出路 上路 一路 网路 线路 思路 逛街 上街 大街 "
    "农村 乡村 城乡 乡镇 城镇 "
    "城市 城区 市区 郊区 景区 园区 社区 小区 片区 辖区 地区 山区 老区 新区 街道 全县 全市 全区 "
    "下乡 回乡 家乡 老乡 本村 全村 进村 村村 门市 超市 菜市 上市 股市 城管 班组 小组".split()
)
_PLACE_MAX = 8
_STREET = frozenset("路街巷")
# "修路", "走路", "上街": verbs, not street names.
_NOT_BEFORE_STREET = frozenset("修走铺挖封堵绕上过马道公一出网线思逛大")


@lru_cache(maxsize=1)
def _division_initials() -> frozenset[str]:
    return frozenset(name[0] for name in _divisions())


def _admin_spans(text: str) -> list[tuple[int, int]]:
    names = _divisions()
    initials = _division_initials()
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        if text[i] not in initials:
            i += 1
            continue
        for length in range(min(_PLACE_MAX, len(text) - i), 1, -1):
            if text[i : i + length] in names:
                spans.append((i, i + length))
                i += length
                break
        else:
            i += 1
    return spans


_ADMIN_SUFFIX = frozenset("省市县区")
# Anonymised divisions in public data and tests: "A市", "K3县", "D11市".
_CODE = re.compile(r"[A-Za-z]{1,2}\d{0,2}")


def _suffix_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _PLACE_SUFFIX.finditer(text):
        start = end = match.start()
        if match[0] in _ADMIN_SUFFIX:
            # Real names of divisions come from the dictionary; here only codes like K3县.
            while (
                start > 0
                and end - start < 3
                and text[start - 1].isascii()
                and text[start - 1].isalnum()
            ):
                start -= 1
            if start < end and _CODE.fullmatch(text[start:end]):
                spans.append((start, match.end()))
            continue
        while start > 0 and end - start < 6:
            char = text[start - 1]
            if char in _STOP or char in _ADMIN_SUFFIX or not char.isalnum():
                break
            start -= 1
        name = text[start : match.end()]
        if start == end or name in _NOT_PLACES:
            continue
        if match[0] in _STREET and text[end - 1] in _NOT_BEFORE_STREET:
            continue
        spans.append((start, match.end()))
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def find_places(text: str) -> list[Span]:
    """Places: administrative divisions (province to county, by dictionary) and smaller
    units by suffix (街道, 镇, 村, 小区, 路...); adjacent pieces form one place."""
    admin = _admin_spans(text)
    suffixed = []
    for start, end in _suffix_spans(text):
        # "老家河南省": the division starts the place, not the words before it.
        inside = [a_start for a_start, _ in admin if start < a_start < end]
        suffixed.append((min(inside), end) if inside else (start, end))
    spans = _merge(admin + suffixed)
    return [Span("place", text[start:end], start, end) for start, end in spans]


# --- people and organisations ----------------------------------------------------------

_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "慕容",
    "夏侯",
    "令狐",
    "公孙",
    "尉迟",
    "长孙",
    "司徒",
    "端木",
)
_NAME_END = r"(?=[\s，,。.!！?？、;；的在住是电身联手家来从今男女吧\d]|$)"
_PERSON_CUES = re.compile(
    rf"(?:我叫|我是|俺叫|俺是|本人|名字是|名字叫|名字[:：]?|姓名是?[:：]?|叫我|叫|"
    rf"反映人(?:是|[:：])?|联系人(?:写|是|[:：])?|(?:人名|名字)?改成|改为|填|"
    rf"(?:书记|主任|经理|老板|包工头|村长|队长|校长|院长)(?:是|叫))"
    rf"\s*(?P<name>[{_CJK}]{{2,4}}?){_NAME_END}"
)
_SURNAME_ONLY = re.compile(
    rf"(?:我姓|姓)(?P<name>[{_CJK}]{{1,2}}?)(?=[\s，,。、;；叫是的名先女]|$)"
)
_HONORIFICS = "(?:先生|女士|小姐|师傅|阿姨|大爷|大妈)"
_HONORIFIC = re.compile(rf"(?P<name>[{_CJK}]{{1,2}}?){_HONORIFICS}")
_BARE_NAME = re.compile(rf"^\s*(?P<name>[{_CJK}]{{2,4}}?)(?=[\s，,。]|$)")
# A "name" ending like this is a place: 金色家园, 李家营子, 王家庄.
_PLACE_ENDINGS = frozenset("园庄村屯子城区镇乡街路苑湾沟堡营")
_NOT_NAMES = frozenset(
    "业主 村民 居民 工人 老人 家长 学生 老师 党员 群众 退休 本地 外地 这里 那里 谢谢 好的".split()
)


def _is_name(name: str, *, surname_only: bool = False) -> bool:
    if name in _NOT_NAMES:
        return False
    if name in _COMPOUND_SURNAMES:
        return True
    if surname_only:
        return len(name) == 1 and name in _SURNAMES
    return name[0] in _SURNAMES or name[:2] in _COMPOUND_SURNAMES


def find_persons(text: str) -> list[Span]:
    """Personal names after cue words (我叫, 本人, 姓...), before 先生/女士, or a message
    that is only a name; the first character must be a common surname."""
    found: list[Span] = []
    for pattern, surname_only in (
        (_PERSON_CUES, False),
        (_SURNAME_ONLY, True),
        (_HONORIFIC, True),
        (_BARE_NAME, False),
    ):
        for match in pattern.finditer(text):
            name = match["name"]
            start = match.start("name")
            if pattern is _HONORIFIC and start > 0 and re.match(f"[{_CJK}]", text[start - 1]):
                # "李先生" yes; "找了个李先生" is still fine, but "王老李先生" is not a name start.
                if len(name) == 2 and not _is_name(name[1], surname_only=True):
                    continue
            if pattern is _BARE_NAME and (
                re.search(_HONORIFICS + "$", name) or name[-1] in _PLACE_ENDINGS
            ):
                continue
            if _is_name(name, surname_only=surname_only):
                found.append(Span("person", name, start, start + len(name)))
    return _dedupe(found)


_ORG_SUFFIX = re.compile(
    r"(有限责任公司|有限公司|股份公司|集团|公司|工厂|厂|医院|卫生院|诊所|学校|小学|中学|大学|学院|"
    r"幼儿园|派出所|公安局|法院|检察院|银行|委员会|村委会|居委会|街道办事处|街道办|办事处|管委会|"
    r"物业|合作社|大队|支队|中心|协会|局|所)"
)
_NOT_ORGS = frozenset(
    "公司 工厂 医院 学校 银行 物业 中心 大队 诊所 小学 中学 大学 派出所 "
    "厂 局 所 厕所 场所 住所 研究所".split()
)
# Verbs and particles that precede a name ("投诉D6县电信公司", "致A市人民医院").
_ORG_STOP = _STOP | set("和诉报请求盼查致向找问询助望希期待严让为由")
_ORG_BARE = frozenset(("村委会", "居委会", "街道办", "派出所", "物业公司", "业委会"))


def find_orgs(text: str) -> list[Span]:
    """Organisation names ending in 公司, 医院, 学校, 局, 派出所...; bare 村委会 too."""
    found: list[Span] = []
    for match in _ORG_SUFFIX.finditer(text):
        start = match.start()
        while start > 0 and match.start() - start < 12 and text[start - 1] not in _ORG_STOP:
            if not text[start - 1].isalnum():
                break
            start -= 1
        name = text[start : match.end()]
        if name in _ORG_BARE or (start < match.start() and name not in _NOT_ORGS):
            if match.end() - start >= 3:
                found.append(Span("org", name, start, match.end()))
    return _dedupe(found)


def _dedupe(spans: list[Span]) -> list[Span]:
    """Drops spans overlapping an earlier, longer one."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def find_entities(text: str, now: dt.datetime | None = None) -> list[Span]:
    """All pattern entities of a folded text; where two overlap, the more specific wins
    (case reference, amount, date, person, organisation, then place)."""
    ordered = (
        find_case_references(text)
        + find_amounts(text)
        + find_times(text, now)
        + find_persons(text)
        + find_orgs(text)
        + find_places(text)
    )
    kept: list[Span] = []
    for span in ordered:
        if any(span.start < other.end and other.start < span.end for other in kept):
            continue
        kept.append(span)
    return sorted(kept, key=lambda s: s.start)
