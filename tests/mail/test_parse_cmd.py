"""`gmail-connector parse`: one JSON object per file, unreadable files reported, others still done."""
from __future__ import annotations

import json

from connector.cli import main

SIMPLE = (b"From: =?utf-8?Q?J=C3=BCrgen?= <JU@X.example>\r\nReply-To: r@x.example\r\nTo: a@b.example\r\n"
          b"Subject: Hallo\r\nMessage-ID: <id1@x.example>\r\nDate: Tue, 07 Apr 2026 10:00:01 +0000\r\n"
          b"References: <a@x> <b@x>\r\n\r\nBody text\r\n")
BROKEN = b"From: <<<\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nno parts here \xff\r\n"


def test_parse_json_prints_one_object_per_file_in_order(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)    # no stray .env from the working directory
    first, second = tmp_path / "a.eml", tmp_path / "b.eml"
    first.write_bytes(SIMPLE)
    second.write_bytes(BROKEN)
    assert main(["parse", str(first), str(second), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    one, two = (json.loads(line) for line in lines)
    assert one["from"] == {"name": "Jürgen", "email": "ju@x.example"}
    assert one["requester"]["email"] == "r@x.example"
    assert one["date"] == "2026-04-07T10:00:01+00:00" and one["references"] == ["a@x", "b@x"]
    assert one["message_id"] == "id1@x.example" and one["classification"] == {"kind": "normal", "reasons": []}
    expected_keys = {"message_id", "subject", "from", "reply_to", "to", "cc", "date", "in_reply_to",
                     "references", "requester", "body_text", "body_html", "attachments",
                     "classification", "defects"}
    assert expected_keys <= set(one) and expected_keys <= set(two)
    assert two["defects"] and two["from"]["email"] == "" and two["date"] is None


def test_unreadable_file_is_reported_and_the_rest_still_parsed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.eml"
    good.write_bytes(SIMPLE)
    status = main(["parse", str(tmp_path / "missing.eml"), str(good), "--json"])
    captured = capsys.readouterr()
    assert status == 1
    assert "missing.eml" in captured.err and "No such file" in captured.err
    assert json.loads(captured.out)["subject"] == "Hallo"


def test_human_summary_without_json(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.eml"
    good.write_bytes(SIMPLE)
    assert main(["parse", str(good)]) == 0
    out = capsys.readouterr().out
    assert "subject:   'Hallo'" in out and "kind:      normal" in out
