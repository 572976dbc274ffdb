"""README.md and docs/*.md: every relative link reaches a file that exists, every #anchor a
heading that exists (GitHub's way of turning a heading into an anchor), and README stays
short enough to read."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 320

FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
HTML_LINK = re.compile(r"""<(?:a|img)\s[^>]*?(?:href|src)="([^"]+)\"""", re.I)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without code blocks and code spans (a link shown as code is not a link)."""
    return CODE.sub("", FENCE.sub("", text))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed,
    spaces turned into hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its words
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file; a repeated heading gets -1, -2 ..."""
    seen: dict[str, int] = {}
    found = set()
    for match in HEADING.finditer(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = anchor(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    text = prose(path.read_text(encoding="utf-8"))
    return LINK.findall(text) + HTML_LINK.findall(text)


def test_the_documents_are_there() -> None:
    names = {path.name for path in DOCS}
    assert "README.md" in names and len(names) > 5, names


def broken_links(path: Path) -> list[str]:
    """The relative links and anchors in `path` that lead nowhere."""
    broken = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, tg: ...
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and linked.suffix != ".md":
            broken.append(f"{target}: an anchor into a file that is not Markdown")
        elif fragment and unquote(fragment) not in anchors(linked):
            broken.append(f"{target}: no such heading in {linked.name}")
    return broken


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path: Path) -> None:
    assert broken_links(path) == []


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Its part\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#its-part) [self](#page) [web](https://example.com/x#y)"
        " `[code](nowhere.md)`\n[gone](missing.md) [no part](other.md#nothing) [no](#none)\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nothing: no such heading in other.md",
        "#none: no such heading in page.md",
    ]


def test_readme_stays_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines: move detail to docs/"


def test_the_anchor_rule() -> None:
    """The rule the checks rely on, on headings of these documents."""
    assert anchor("Set up the bot in Telegram (BotFather)") == (
        "set-up-the-bot-in-telegram-botfather"
    )
    assert anchor("Backups, upgrades and rollbacks") == "backups-upgrades-and-rollbacks"
    assert anchor("Going live checklist") == "going-live-checklist"
    assert anchor("`make` targets") == "make-targets"
