"""How a ticket's text is stored (UTF-8 JSON), how big DynamoDB counts an item, and a machine channel's comment text."""

from __future__ import annotations

import json

from domain import tickets as tk
from infra.dynamo.attributes import CompactJSONAttribute, item_size
from infra.dynamo.models import TicketModel


def test_umlauts_are_stored_as_themselves_without_blanks_after_separators():
    stored = CompactJSONAttribute().serialize({"body": "Grüße", "n": [1, 2]})
    assert stored == '{"body":"Grüße","n":[1,2]}'
    assert len(stored.encode("utf-8")) == 28  # PynamoDB's JSONAttribute: '{"body": "Gr\\u00fc\\u00dfe", "n": [1, 2]}', 40


def test_text_stored_with_ascii_escapes_before_reads_the_same():
    old = json.dumps({"body": "Grüße aus Lübeck"})
    assert "\\u00fc" in old
    assert CompactJSONAttribute().deserialize(old) == {"body": "Grüße aus Lübeck"}


def test_a_lone_surrogate_which_utf8_cannot_carry_is_stored_escaped_as_before():
    stored = CompactJSONAttribute().serialize({"body": "kaputt \udcff ü"})
    stored.encode("utf-8")  # DynamoDB takes it
    assert stored == '{"body":"kaputt \\udcff \\u00fc"}'
    assert CompactJSONAttribute().deserialize(stored) == {"body": "kaputt \udcff ü"}


def test_item_size_counts_names_and_utf8_values_as_dynamodb_does():
    item = TicketModel("tkt_1", customer_id="cus_1", status="NEW", created_key="k", number_key="d#T-000001",
                       data={"body": "ä"}, version=12345)
    # id 2+5, customer_id 11+5, status 6+3, created_key 11+1, number_key 10+10, data 4+len('{"body":"ä"}')=13,
    # version 7 + (5 digits: 3 bytes + 1)
    assert item_size(item) == 7 + 16 + 9 + 12 + 20 + 17 + 11


def test_an_email_reply_longer_than_a_comment_is_shortened_with_the_marker():
    reply = "Protokoll:\n" + "Log: spooler error 0x0000011b\n" * 1000  # 30,011 characters
    text = tk.fit_comment(reply)
    assert len(text) == tk.COMMENT_MAX and text.startswith("Protokoll:\nLog:") and text.endswith(tk.TRUNCATION_MARK)
    assert tk.fit_comment("  Danke, läuft wieder.  ") == "Danke, läuft wieder."
