"""The track record page's chain section: each signal's number, time and commitment from
the moment it is posted (its levels are not on the page until it closes), whether each
entry is revealed yet, the chain's head, and a link to the whole record as JSON
(/track-record.json, docs/track-record.md) for anyone to check, and as CSV. Pure rendering over the
entries webapp/track_record.py loads."""

from __future__ import annotations

import html

from bot.signals.record_chain import SIGNAL
from bot.signals.record_store import Recent
from bot.texts import Html, format_moment, plain, t, tn
from db.models import RecordEntry

JSON_PATH = "/track-record.json"
CSV_PATH = "/track-record.csv"


def section(recent: Recent, reveal_hours: int | None = None) -> str:
    """The section, or nothing before the first signal; `reveal_hours`: RECORD_REVEAL_HOURS
    (an open signal is revealed that long after it was posted)."""
    head = recent.head
    if head is None:
        return ""
    delay = ""
    if reveal_hours:
        delay = f'\n<p class="honest">{tn("track.chain.reveal_after", reveal_hours)}</p>'
    code = Html(f"<code>{html.escape(head.hash)}</code>")
    items = "".join(_item(row) for row in recent.entries)
    return f"""<section class="chain" id="chain">
<h2>{html.escape(plain("track.chain.title"))}</h2>
<p class="honest">{t("track.chain.intro")}</p>{delay}
<p class="head">{tn("track.chain.head", recent.count, seq=head.seq, hash=code)}</p>
<p><a href="{JSON_PATH}">{t("track.chain.json")}</a> ·
<a href="{CSV_PATH}" download>{t("track.chain.csv")}</a></p>
<ul class="entries">{items}</ul>
</section>"""


def _item(row: RecordEntry) -> str:
    what = t(
        "track.chain.signal" if row.type == SIGNAL else "track.chain.update", id=row.signal_id
    )
    state = t("track.chain.revealed" if row.revealed_at else "track.chain.sealed")
    when = html.escape(f"{format_moment(row.at)} UTC")
    return (
        f'<li><b>{row.seq}</b> · {what} · {when} · <code class="commitment">'
        f"{html.escape(row.commitment)}</code> · {state}</li>"
    )
