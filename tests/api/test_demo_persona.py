"""The demo page's persona picker: each message is drafted in the persona the visitor picked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import run_jobs


def draft_for(client: TestClient, customer_id: str, **extra: str) -> dict:
    response = client.post("/demo/messages", json={"customer_id": customer_id, "text": "我的快递到哪了", **extra})
    assert response.status_code == 202, response.text
    run_jobs(client)
    [draft] = client.get("/demo/conversation", params={"customer_id": customer_id}).json()["drafts"]
    return draft


def test_the_same_message_is_drafted_in_each_picked_persona(client: TestClient) -> None:
    default = draft_for(client, "demo-a")
    lucky = draft_for(client, "demo-b", persona="lucky")
    chosen_default = draft_for(client, "demo-c", persona="_default")
    assert (default["persona"], lucky["persona"], chosen_default["persona"]) == ("_default", "lucky", "_default")
    assert lucky["intent"] == default["intent"] == "order_status"
    assert "Lucky" in lucky["text"] and lucky["text"] != default["text"]


def test_an_unknown_persona_is_422_in_chinese_and_stores_nothing(client: TestClient) -> None:
    response = client.post("/demo/messages", json={"customer_id": "demo-x", "text": "你好", "persona": "nobody"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "没有名为 'nobody' 的人设" in detail and "lucky（福利官 Lucky）" in detail
    assert client.get("/demo/conversation", params={"customer_id": "demo-x"}).json()["messages"] == []


def test_the_page_lists_the_personas_by_display_name_with_the_default_selected(client: TestClient) -> None:
    html = client.get("/").text
    assert '<option value="_default" selected>客服</option>' in html
    assert '<option value="lucky">福利官 Lucky</option>' in html
    assert "左边" not in html and "右边" not in html
    assert "时间均为北京时间" in html
