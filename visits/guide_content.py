"""The residents' guides, read from Markdown files that staff edit (guides/<slug>.md), no code involved.

A file is front matter ("key: value" lines between two "---" lines: title, summary, order, checked) and
Markdown sections under "## " headings. The first section holding a numbered list is the steps: each item's
first line is the step (one short line), any lines indented under it a detail. Sections before the steps are
what to have ready; sections after it are the official addresses, hotlines and sources. A fact that could not
be checked against its official source carries "(chưa kiểm chứng)", which the page shows as such.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup

log = logging.getLogger(__name__)
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
UNVERIFIED = "(chưa kiểm chứng)"
STEP_START = re.compile(r"^(\d+)[.)]\s+(.*)$")
MAX_STEP_LINE = 120  # "a short line per step": longer belongs in the detail below it

# Raw HTML in a file is shown as text, never run: staff write Markdown, and the pages have a strict CSP.
_markdown = MarkdownIt("commonmark", {"html": False, "typographer": False})


@dataclass
class Section:
    heading: str
    html: Markup
    sources: bool = False  # the "Nguồn…" section: shown small, left out of the hands-on mode


@dataclass
class Step:
    line: Markup
    detail: Markup
    text: str  # the step's line as plain text, for checks and titles


@dataclass
class Guide:
    slug: str
    title: str
    summary: str = ""
    order: int = 100
    checked: str = ""
    before: list[Section] = field(default_factory=list)
    steps_heading: str = ""
    intro: Markup = Markup("")
    steps: list[Step] = field(default_factory=list)
    after: list[Section] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)  # lines marked "(chưa kiểm chứng)"

    @property
    def contacts(self) -> Section | None:
        """The first section after the steps that is not the sources: addresses and hotlines."""
        return next((s for s in self.after if not s.sources), None)


class GuideError(ValueError):
    """A guide file that cannot be shown as it is; the message says which file and why."""


def render_block(text: str) -> Markup:
    html = _markdown.render(text.strip()) if text.strip() else ""
    return Markup(html.replace(UNVERIFIED, f'<span class="unverified">{UNVERIFIED}</span>'))


def render_inline(text: str) -> Markup:
    html = _markdown.renderInline(text.strip())
    return Markup(html.replace(UNVERIFIED, f'<span class="unverified">{UNVERIFIED}</span>'))


def parse_front_matter(text: str, name: str) -> tuple[dict, str]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise GuideError(f"{name}: the file must start with a '---' line and the title")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        raise GuideError(f"{name}: the front matter has no closing '---' line") from None
    meta = {}
    for line in lines[1:end]:
        if line.strip():
            key, sep, value = line.partition(":")
            if not sep:
                raise GuideError(f"{name}: front matter line without 'key: value': {line!r}")
            meta[key.strip().lower()] = value.strip()
    return meta, "\n".join(lines[end + 1:])


def split_sections(body: str) -> tuple[str, list[tuple[str, str]]]:
    """Text before the first "## " heading, and (heading, text) for each section."""
    parts = re.split(r"^##\s+(.+?)\s*#*\s*$", body, flags=re.MULTILINE)
    return parts[0], [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts), 2)]


def parse_steps(text: str, name: str) -> tuple[str, list[Step]]:
    """The text before the numbered list, and its items as steps."""
    intro, items, current = [], [], None
    for line in text.splitlines():
        match = STEP_START.match(line)
        if match:
            current = [match.group(2), []]
            items.append(current)
        elif current is None:
            intro.append(line)
        elif line.strip():
            current[1].append(line.strip())
    steps = []
    for number, (first, rest) in enumerate(items, 1):
        plain = re.sub(r"[*_`]", "", first).strip()
        if len(plain) > MAX_STEP_LINE:
            raise GuideError(f"{name}: step {number} is longer than {MAX_STEP_LINE} characters; "
                             "put the rest on an indented line below it")
        steps.append(Step(line=render_inline(first), detail=render_block("\n".join(rest)), text=plain))
    return "\n".join(intro), steps


def parse_guide(slug: str, text: str, name: str | None = None) -> Guide:
    """Turn one file's text into a Guide, or say precisely what is wrong with it."""
    name = name or f"{slug}.md"
    if not SLUG.match(slug):
        raise GuideError(f"{name}: a file name must be ASCII words joined by '-', e.g. chuyen-4g.md")
    meta, body = parse_front_matter(text, name)
    if not meta.get("title"):
        raise GuideError(f"{name}: 'title:' is missing from the front matter")
    guide = Guide(slug=slug, title=meta["title"], summary=meta.get("summary", ""),
                  order=int(meta.get("order") or 100), checked=meta.get("checked", ""))
    _preamble, sections = split_sections(body)
    for heading, section_text in sections:
        if not guide.steps and any(STEP_START.match(line) for line in section_text.splitlines()):
            intro, guide.steps = parse_steps(section_text, name)
            guide.steps_heading = heading
            guide.intro = render_block(intro)
            continue
        target = guide.after if guide.steps else guide.before
        target.append(Section(heading=heading, html=render_block(section_text),
                              sources=heading.lower().startswith("nguồn")))
    if len(guide.steps) < 2:
        raise GuideError(f"{name}: a guide needs a section with at least two numbered steps")
    guide.unverified = [line.strip(" -*") for line in body.splitlines() if UNVERIFIED in line]
    return guide


class GuideLibrary:
    """The guides of one folder, re-read when a file changes, so an edit shows without a restart."""

    def __init__(self, folder: Path, rescan_seconds: float = 2.0):
        self.folder = Path(folder)
        self.rescan_seconds = rescan_seconds  # a household page asks once per item: look at the disk less often
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Guide]] = {}
        self._sorted: list[Guide] = []
        self._scanned_at = float("-inf")

    def _files(self) -> dict[str, Path]:
        if not self.folder.is_dir():
            return {}
        return {path.stem: path for path in self.folder.glob("*.md") if SLUG.match(path.stem)}

    def all(self) -> list[Guide]:
        """Every guide, in the order the files ask for (then by title)."""
        with self._lock:
            if time.monotonic() - self._scanned_at < self.rescan_seconds:
                return self._sorted
            self._sorted = self._scan()
            self._scanned_at = time.monotonic()
            return self._sorted

    def _scan(self) -> list[Guide]:
        """Parse the files that are new or changed since the last look; forget those removed."""
        files = self._files()
        for slug in list(self._cache):
            if slug not in files:
                del self._cache[slug]
        for slug, path in files.items():
            mtime = path.stat().st_mtime
            if slug in self._cache and self._cache[slug][0] == mtime:
                continue
            try:
                self._cache[slug] = (mtime, parse_guide(slug, path.read_text(encoding="utf-8"), path.name))
            except (GuideError, UnicodeDecodeError) as error:
                # A half-finished edit must not take the other guides down: keep the last good version, if any.
                log.error("guide %s not updated: %s", path.name, error)
        return sorted((guide for _mtime, guide in self._cache.values()), key=lambda g: (g.order, g.title))

    def get(self, slug: str) -> Guide | None:
        return next((g for g in self.all() if g.slug == slug), None)

    def slugs(self) -> set[str]:
        return {g.slug for g in self.all()}


def check_folder(folder: Path) -> list[str]:
    """Every problem in a folder of guide files, as messages (empty when all is well)."""
    problems = []
    for path in sorted(Path(folder).glob("*.md")):
        if path.name == "README.md":
            continue
        try:
            parse_guide(path.stem, path.read_text(encoding="utf-8"), path.name)
        except GuideError as error:
            problems.append(str(error))
    return problems
