"""Encodings: a file is read in one encoding on evidence, or per line on evidence — never into mojibake groups."""
from __future__ import annotations

import pytest

corpus = pytest.mark.corpus
HEADER = "customer_id;timestamp;amount;channel\n"


def _lines(*items: tuple[str, str]) -> list[str]:
    return [f"{k};2024-01-{k:0>2};10;{ch}\n" for k, ch in items]


@corpus("encoding", "result")
def test_one_cp1251_line_in_a_utf8_file_is_reread_and_counted(project):
    lines = _lines(("1", "магазин"), ("2", "сайт"), ("3", "магазин"), ("4", "сайт"))
    data = (HEADER + "".join(lines[:2])).encode() + lines[2].encode("cp1251") + lines[3].encode()
    project.client(files={"tx.csv": data})
    _, loaded = project.load()
    assert sorted(loaded.transactions["channel"].unique()) == ["магазин", "сайт"]
    (issue,) = loaded.quality.select(kind="encoding")
    assert issue.action == "repaired" and issue.rows_count == 1 and issue.example_rows == (4,)
    assert "Windows-1251" in issue.message and '"магазин"' in issue.message


@corpus("encoding", "result")
def test_latin1_bytes_inside_utf8_make_no_separate_group(project):
    lines = _lines(("1", "réseaux"), ("2", "boutique"), ("3", "réseaux"))
    data = (HEADER + lines[0] + lines[1]).encode() + lines[2].encode("latin-1")
    project.client(files={"tx.csv": data})
    _, loaded = project.load()
    assert loaded.transactions["channel"].tolist() == ["réseaux", "boutique", "réseaux"]
    assert loaded.quality.count("repaired") == 1


@corpus("encoding", "error")
def test_foreign_line_whose_words_appear_nowhere_else_stops(project):
    # a KOI8-R line: read as Windows-1251 it is capitals nobody wrote, and its words are not in the file
    data = (HEADER + "1;2024-01-01;10;магазин\n").encode() + "2;2024-01-02;10;Интернет\n".encode("koi8_r")
    project.client(files={"tx.csv": data})
    msg = project.error()
    assert "line 3" in msg and "is not UTF-8" in msg and "bytes e9 ce d4" in msg
    assert "Windows-1251:" in msg and "Windows-1252:" in msg and "save the file as UTF-8" in msg


@corpus("encoding", "result")
def test_whole_file_in_cp1251_is_read_on_evidence(project):
    text = "Клиент;Дата;Сумма;Канал\n1;05.01.2024;10,5;магазин\n2;06.01.2024;7;Интернет-магазин\n"
    project.client(files={"tx.csv": text.encode("cp1251")},
                   transactions={"path": "tx.csv", "dayfirst": True,
                                 "columns": {"Клиент": "customer_id", "Дата": "timestamp", "Сумма": "amount",
                                             "Канал": "channel"}})
    _, loaded = project.load()
    assert loaded.transactions["channel"].tolist() == ["магазин", "Интернет-магазин"]
    assert loaded.sources["transactions"].encoding == "cp1251"
    assert "Windows-1251" in loaded.quality.select(kind="encoding")[0].message


@corpus("encoding", "error")
def test_western_single_byte_file_needs_its_encoding(project):
    # "crème" reads "crème" in Windows-1252 and "crčme" in Windows-1250: both are words
    text = "customer_id;timestamp;amount;channel\n1;2024-01-05;10;crème brûlée\n"
    project.client(files={"tx.csv": text.encode("cp1252")})
    msg = project.error()
    assert "is not UTF-8" in msg and '"crème"' in msg and '"crčme"' in msg
    assert "add 'encoding: cp1251' under 'data.transactions:'" in msg and "'encoding: cp1252'" in msg


@corpus("encoding", "result")
def test_western_single_byte_file_with_its_encoding(project):
    text = "customer_id;timestamp;amount;channel\n1;2024-01-05;10;crème brûlée\n"
    project.client(files={"tx.csv": text.encode("cp1252")}, transactions={"path": "tx.csv", "encoding": "cp1252"})
    _, loaded = project.load()
    assert loaded.transactions["channel"].tolist() == ["crème brûlée"]


@corpus("encoding", "error")
def test_text_encoded_twice_is_refused(project):
    garbled = "магазин".encode().decode("cp1251")  # "РјР°РіР°Р·РёРЅ"
    project.client(files={"tx.csv": HEADER + f"1;2024-01-05;10;{garbled}\n2;2024-01-06;5;магазин\n"})
    msg = project.error()
    assert "line 2 holds garbled text" in msg and f'"{garbled}" for "магазин"' in msg
    assert "export it again" in msg


@corpus("encoding", "error")
def test_wrong_encoding_setting_on_a_utf8_file(project):
    project.client(files={"tx.csv": HEADER + "1;2024-01-05;10;магазин\n"},
                   transactions={"path": "tx.csv", "encoding": "cp1251"})
    msg = project.error()
    assert "the file is UTF-8: remove 'encoding: cp1251'" in msg


@corpus("encoding", "error")
def test_utf8_setting_on_a_cp1251_file_names_the_line(project):
    project.client(files={"tx.csv": (HEADER + "1;2024-01-05;10;магазин\n").encode("cp1251")},
                   transactions={"path": "tx.csv", "encoding": "utf-8"})
    msg = project.error()
    assert "cannot be read as utf-8" in msg and "on line 2" in msg and "remove 'encoding:'" in msg


@corpus("encoding", "result")
def test_utf16_with_byte_order_mark(project):
    text = "customer_id\ttimestamp\tamount\tchannel\n1\t2024-01-05\t10\tмагазин\n"
    project.client(files={"tx.csv": text.encode("utf-16")})
    _, loaded = project.load()
    assert loaded.transactions["channel"].tolist() == ["магазин"]
    assert loaded.sources["transactions"].encoding == "utf-16"


@corpus("encoding", "error")
def test_utf16_without_byte_order_mark(project):
    project.client(files={"tx.csv": (HEADER + "1;2024-01-05;10;x\n").encode("utf-16-le")})
    msg = project.error()
    assert "NUL bytes" in msg and "UTF-16" in msg


@corpus("encoding", "error")
def test_bytes_that_no_encoding_reads_as_words(project):
    project.client(files={"tx.csv": b"customer_id;timestamp;amount\n1;2024-01-01;\x98\n"})
    msg = project.error()
    assert "is not UTF-8" in msg and "line 2" in msg and "Windows-1251: byte 98 is undefined" in msg


@corpus("encoding", "error")
def test_unknown_encoding_name_in_client_yml(project):
    project.client(files={"tx.csv": HEADER + "1;2024-01-05;10;x\n"},
                   transactions={"path": "tx.csv", "encoding": "klingon"})
    msg = project.error()
    assert "data.transactions.encoding" in msg and "cp1251" in msg
