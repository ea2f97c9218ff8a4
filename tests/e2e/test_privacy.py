"""Personal data never reaches the logs of the three processes."""

from __future__ import annotations

import time

from tests.e2e.conftest import RunningStack
from tests.e2e.test_conversation import REFERENCE, new_sender

CANARY_NAME = "甄卡纳"
CANARY_PHONE = "13700001234"
CANARY_ID = "37070219800101123X"
CANARY_TEXT = "甄家屯自来水管爆了"


def test_canaries_stay_out_of_every_log(stack: RunningStack) -> None:
    """Name, phone, ID number and letter text pass through a filing and appear in no log line."""
    sender = new_sender()
    stack.say(
        sender,
        f"我要反映，{CANARY_TEXT}，村里停水一个月了，村委会一直不管。"
        f"我叫{CANARY_NAME}，电话{CANARY_PHONE}，身份证{CANARY_ID}",
    )
    assert stack.tracker(sender)["slots"]["facts"], "the petition was not recognised"
    answers = {
        "place": "寒亭区固堤街道", "since": "一个月", "involved": "村委会",
        "demand": f"{CANARY_TEXT}希望解决", "raised_before": "没有", "joint_count": "没有",
        "leave_contact": "留下", "name": CANARY_NAME, "phone": CANARY_PHONE, "address": "跳过",
        "id_consent": "同意", "id_number": CANARY_ID, "extra_answer": CANARY_TEXT,
        "category": "1",
    }  # fmt: skip
    for _ in range(16):
        requested = stack.tracker(sender)["slots"].get("requested_slot")
        if requested is None:
            break
        stack.say(sender, answers[requested])
    stack.say(sender, "我的电话写错了，应该是" + CANARY_PHONE)
    replies = stack.say(sender, "确认")
    reference = REFERENCE.search(str(replies))
    assert reference, replies
    assert stack.staff(f"/api/cases/{reference.group()}").status == 200
    stack.say(sender, "我的信访件办得怎么样了")
    time.sleep(1)  # let the log pumps catch up
    log = "\n".join(stack.log)
    assert (
        reference.group() in log or "filed" in log
    ), "the log should show the case, not the person"
    for canary in (CANARY_NAME, CANARY_PHONE, CANARY_ID, CANARY_TEXT, "0001234"):
        assert canary not in log, f"{canary!r} leaked into the logs"
