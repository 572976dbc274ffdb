"""A message's HTML as runs of text and marks (webapp/message_runs.py): what the composer's
preview draws, with no markup left for the page to parse."""

from __future__ import annotations

from webapp.message_runs import runs


def test_text_and_its_marks_in_order() -> None:
    assert runs("<b>BTC/USDT</b> Long\n<b>Entry Zone:</b> 1-2") == [
        {"text": "BTC/USDT", "marks": ["b"]},
        {"text": " Long\n", "marks": []},
        {"text": "Entry Zone:", "marks": ["b"]},
        {"text": " 1-2", "marks": []},
    ]


def test_nested_marks_entities_and_unknown_tags() -> None:
    assert runs("<b>a <i>b</i></b><tg-spoiler>c</tg-spoiler> &lt;d&gt; &amp; <code>e</code>") == [
        {"text": "a ", "marks": ["b"]},
        {"text": "b", "marks": ["b", "i"]},
        {"text": "c <d> & ", "marks": []},
        {"text": "e", "marks": ["code"]},
    ]


def test_markup_written_by_people_stays_text() -> None:
    """A note arrives escaped in the rendered message; it comes out as the text it was."""
    assert runs("Note: &lt;script&gt;x&lt;/script&gt;") == [
        {"text": "Note: <script>x</script>", "marks": []}
    ]
    assert runs("") == []
