"""Removing a customer's words from intent files: the layout stays, the YAML stays valid, other items stay."""

from __future__ import annotations

import yaml

from bot.services.config_quotes import quoted_keys, remove_quotes, scrub_files

SHIPPED = '''intent: order_status
description: 客户询问订单进度
marketing: false
examples:
  - "我的订单到哪了"
  - "订单到哪了，旺财等着用"
  - 快递什么时候能到
answers:
  - id: shipping_time
    questions: ["一般几天能到", "旺财等着用，几天到", "多久发货"]
    answer: "现货 48 小时内发货。"
'''


def test_quoted_examples_and_questions_go_and_the_rest_of_the_file_stays() -> None:
    keys = quoted_keys(["订单到哪了，旺财等着用\n旺财等着用，几天到"])  # a draft joins several messages by lines
    result = remove_quotes(SHIPPED, keys)
    assert result.removed == 2
    assert "旺财" not in result.text
    data = yaml.safe_load(result.text)
    assert data["examples"] == ["我的订单到哪了", "快递什么时候能到"]
    assert data["answers"][0]["questions"] == ["一般几天能到", "多久发货"]
    assert result.text.splitlines()[:5] == SHIPPED.splitlines()[:5]  # the layout is kept


def test_matching_is_on_the_normalised_message() -> None:
    assert remove_quotes(SHIPPED, quoted_keys(["訂單到哪了，旺財等着用"])).removed == 1  # traditional characters


def test_a_file_the_lines_cannot_be_edited_in_is_written_again_as_valid_yaml() -> None:
    flow = "intent: a\ndescription: d\nmarketing: false\nexamples: [\"旺财等着用\", \"别的\",\n  \"还有\"]\n"
    result = remove_quotes(flow, quoted_keys(["旺财等着用"]))
    assert result.removed == 1 and yaml.safe_load(result.text)["examples"] == ["别的", "还有"]


def test_only_intent_files_change_and_nothing_without_quotes() -> None:
    files = {"intents/a.yml": SHIPPED, "persona_styles/p/templates/a.j2": "订单到哪了，旺财等着用"}
    scrubbed, removed = scrub_files(files, quoted_keys(["订单到哪了，旺财等着用"]))
    assert removed == 1 and scrubbed["persona_styles/p/templates/a.j2"] == files["persona_styles/p/templates/a.j2"]
    assert scrub_files(files, quoted_keys(["与此无关的一句话"])) == (files, 0)
