"""Property: any contract frame written the way Russian clients export it reads back equal.

Written with ``;`` separators, decimal commas (optionally with non-breaking-space thousands),
day-first dates, in UTF-8 (with or without BOM) or Windows-1251.
"""
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxlab.data.io import read_table

# Labels are real words: without an encoding setting the reader tells Windows-1251 from other code
# pages by the text reading as words, which random strings of letters ("ЁЁЁЁа") do not.
WORDS = ["магазин", "Интернет-магазин", "сайт", "приложение", "доставка", "Москва", "Санкт-Петербург", "МТС",
         "Ёлка", "кафе", "ТЦ", "Европа", "пункт", "выдачи", "самовывоз", "колл-центр", "web", "App", "XYZ", "01"]
label = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)


@st.composite
def frames(draw):
    n = draw(st.integers(1, 25))
    ids = draw(st.lists(st.text("0123456789", min_size=1, max_size=7), min_size=n, max_size=n, unique=True))
    minutes = draw(st.lists(st.integers(0, 20 * 365 * 24 * 60), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-10**9, 10**9), min_size=n, max_size=n))
    channels = draw(st.lists(st.one_of(st.none(), label), min_size=n, max_size=n))
    ts = pd.Timestamp("2004-01-01") + pd.to_timedelta(minutes, unit="min")
    return pd.DataFrame({
        "customer_id": pd.Series(ids, dtype=object),
        "timestamp": pd.Series(ts, dtype="datetime64[ns]"),
        "amount": np.asarray(cents, dtype=float) / 100,
        "channel": pd.Series(channels, dtype=object).where(pd.notna(channels), np.nan),
    })


def _money(x: float, nbsp: bool) -> str:
    cents = round(x * 100)
    whole, frac = divmod(abs(cents), 100)
    groups = f"{whole:,}".replace(",", "\u00a0" if nbsp else "")
    return ("-" if cents < 0 else "") + f"{groups},{frac:02d}"


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]), st.booleans())
def test_semicolon_decimal_comma_round_trip(frame, encoding, nbsp):
    header = "Клиент;Дата покупки;Сумма;Канал"
    lines = [header] + [
        ";".join([r.customer_id, r.timestamp.strftime("%d.%m.%Y %H:%M"), _money(r.amount, nbsp),
                  "" if pd.isna(r.channel) else r.channel])
        for r in frame.itertuples()
    ]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "выгрузка.csv"
        path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
        loaded = read_table(path, columns={"Клиент": "customer_id", "Дата покупки": "timestamp",
                                           "Сумма": "amount", "Канал": "channel"},
                            dayfirst=True, today="2030-01-01")
    out = loaded.frame
    expected = frame.assign(is_return=frame["amount"] < 0)
    pd.testing.assert_frame_equal(out, expected, check_exact=False, rtol=1e-12)
    assert loaded.source.encoding == ("cp1251" if encoding == "cp1251" and any(
        ord(c) > 127 for c in "\n".join(lines)) else "utf-8")
