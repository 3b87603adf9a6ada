"""Links and citations in the published docs and code stay inside the repository.

- every relative link in the project's markdown resolves to a file or directory of the
  repository, and a ``#anchor`` into a markdown file names one of its headings
  (GitHub's slug rules);
- nothing points at the team's private shelf (``../shared/...``, its PROTOCOL.md,
  STYLE.md, TOOLCHAIN.md, LANDSCAPE.md, or a bare "§4.3" section number) or at an
  absolute path;
- a code comment citing ``docs/<file>.md#<anchor>`` (or another markdown file of the
  repository by its path from the root) names a file and heading that exist.

Only text is read: no sockets, no markdown library (none is a dependency).
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve()

# The markdown a reader of the published project meets.
DOC_GLOBS = (
    "README.md",
    "docs/*.md",
    "server/README.md",
    "server/src/**/*.md",
    "protos/README.md",
    "clients/*/README.md",
    "simulator/**/*.md",
)
# Where code comments may cite docs; generated and third-party trees are skipped.
CODE_DIRS = ("server/src", "simulator/src", "clients", "tests", "protos")
# Everything searched for citations of the private shelf (docs, code, scripts, config).
SHELF_DIRS = (*CODE_DIRS, "docs", "scripts", "tools", "bench", "docker", ".ci")
SHELF_ROOT_FILES = ("README.md", "buf.yaml", "buf.gen.yaml", "pyproject.toml")
SKIP_DIRS = frozenset(
    {
        "node_modules",
        "vendor",
        "generated",
        "generated-google",
        "__pycache__",
        ".venv",
        ".cache",
    }
)
GENERATED = (ROOT / "clients/python/src/mt5gateway/v1",)
TEXT_SUFFIXES = frozenset(
    {".py", ".pyi", ".php", ".proto", ".md", ".toml", ".yaml", ".yml", ".sh", ".ini"}
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]"  # [text], one level of nested brackets
    r"\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)"  # (target "optional title")
)
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"<a\s[^>]*(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# A citation in code: a repository path of a markdown file, optionally with an anchor.
_CITATION = re.compile(
    r"(?<![\w./-])((?:docs|server|simulator|protos|clients)/[\w./-]*?\.md)(#[\w-]+)?"
)
# The shelf lives next to the repository, not in it. A bare section sign ("(§4.3)")
# cites its PROTOCOL.md by number; only RFC sections may be cited that way.
_SHELF = re.compile(
    r"(?:\.\./)+shared/|/work/shared\b|\b(?:PROTOCOL|STYLE|TOOLCHAIN|LANDSCAPE)\.md\b"
    r"|(?<!RFC \d{4} )§"
)


def _skipped(path: Path) -> bool:
    parts = set(path.relative_to(ROOT).parts[:-1])
    return bool(parts & SKIP_DIRS) or any(path.is_relative_to(g) for g in GENERATED)


def doc_files() -> list[Path]:
    found = {p for pattern in DOC_GLOBS for p in ROOT.glob(pattern) if p.is_file()}
    return sorted(p for p in found if not _skipped(p))


def _walk(dirs: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for top in dirs:
        for folder, subdirs, names in os.walk(ROOT / top):
            # Pruned here: node_modules alone holds thousands of files.
            subdirs[:] = [d for d in subdirs if d not in SKIP_DIRS]
            for name in names:
                path = Path(folder, name)
                # Extension-less files (scripts/, .ci/) are shell scripts.
                text = path.suffix in TEXT_SUFFIXES or not path.suffix
                if text and path != THIS_FILE and not _skipped(path):
                    out.append(path)
    return sorted(out)


def code_files() -> list[Path]:
    return [p for p in _walk(CODE_DIRS) if p.suffix != ".md"]


def shelf_files() -> list[Path]:
    roots = [ROOT / name for name in SHELF_ROOT_FILES if (ROOT / name).is_file()]
    return sorted({*roots, *_walk(SHELF_DIRS), *doc_files()})


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    out = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker == fence:
                fence = None
            continue
        if fence is None:
            out.append((number, line))
    return out


# ------------------------------------------------------------------ GitHub slugs


def _heading_text(raw: str) -> str:
    """The rendered text of a heading: markup gone, code and link texts kept."""
    text = _CODE_SPAN.sub(lambda m: m.group(2).strip(), raw)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"(\*{1,3})(.+?)\1", r"\2", text)  # bold / italics
    return re.sub(r"(?<!\w)_{1,3}(.+?)_{1,3}(?!\w)", r"\1", text)


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case; letters, marks, digits, ``_``,
    ``-`` and spaces kept, every other character dropped; each space becomes ``-``."""
    kept = []
    for char in _heading_text(heading).strip().lower():
        category = unicodedata.category(char)
        if char in " -" or category[0] in "LMN" or category == "Pc":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor GitHub renders for ``path``: headings (``-1``, ``-2`` … for
    repeats) and explicit ``<a name>``/``id`` anchors."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for _, line in _prose_lines(_read(path)):
        out.update(_HTML_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if match is None:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(out)


# ------------------------------------------------------------------ links


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every inline link, image and reference definition outside
    code blocks and code spans."""
    out = []
    for number, line in _prose_lines(_read(path)):
        prose = _CODE_SPAN.sub("", line)
        out.extend((number, m.group(1)) for m in _INLINE_LINK.finditer(prose))
        ref = _REF_DEF.match(prose)
        if ref is not None:
            out.append((number, ref.group(1)))
    return out


def link_problem(source: Path, target: str) -> str | None:
    """Why ``target`` (written in ``source``) does not resolve, or None."""
    if not target or _SCHEME.match(target):
        return None  # empty, or http(s):, mailto: ...: not a repository path
    path_part, _, anchor = target.partition("#")
    if path_part.startswith("/"):
        return "absolute path: links must be relative to the file"
    resolved = (source.parent / unquote(path_part)).resolve() if path_part else source
    if not resolved.is_relative_to(ROOT):
        return "points outside the repository"
    if not resolved.exists():
        return "no such file or directory"
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
        return f"no heading with anchor #{anchor} in {resolved.relative_to(ROOT)}"
    return None


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("doc", doc_files(), ids=_rel)
def test_relative_links_resolve(doc: Path) -> None:
    broken = [
        f"{_rel(doc)}:{line}: ({target}) {problem}"
        for line, target in links(doc)
        if (problem := link_problem(doc, target)) is not None
    ]
    assert not broken, "\n".join(broken)


def test_no_citation_of_the_team_shelf() -> None:
    found = [
        f"{_rel(path)}:{number}: {line.strip()[:120]}"
        for path in shelf_files()
        for number, line in enumerate(_read(path).splitlines(), start=1)
        if _SHELF.search(line)
    ]
    assert not found, (
        "cite docs/mt5-webapi.md or docs/architecture.md instead of the shelf "
        "outside the repository:\n" + "\n".join(found)
    )


def citation_problem(path: str, anchor: str) -> str | None:
    target = ROOT / path
    if not target.is_file():
        return "no such file"
    name = anchor.removeprefix("#")
    if name and name not in anchors(target):
        return f"no heading with anchor {anchor}"
    return None


def test_doc_citations_in_code_resolve() -> None:
    broken = []
    for source in code_files():
        for number, line in enumerate(_read(source).splitlines(), start=1):
            for match in _CITATION.finditer(line):
                path, anchor = match.group(1), match.group(2) or ""
                problem = citation_problem(path, anchor)
                if problem is not None:
                    broken.append(f"{_rel(source)}:{number}: {path}{anchor} {problem}")
    assert not broken, "\n".join(broken)


# ------------------------------------------------------------------ the checker itself


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Handshake", "handshake"),
        ("Balance operations", "balance-operations"),
        ("`/_sim/` controls", "_sim-controls"),
        ("Why the image listens on 0.0.0.0", "why-the-image-listens-on-0000"),
        ("Tick cursors (`trans_id`)", "tick-cursors-trans_id"),
        ("**Bold** and *italic* text", "bold-and-italic-text"),
        ("Positions, orders and deals", "positions-orders-and-deals"),
        (
            "mt5sim — the MT5 manager Web API simulator",
            "mt5sim--the-mt5-manager-web-api-simulator",
        ),
        ("[Linked](other.md) heading", "linked-heading"),
        ("Ünïcode stays", "ünïcode-stays"),
    ],
)
def test_github_slug(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_checker_finds_broken_links_and_anchors() -> None:
    # Resolved against the real tree, as written in docs/architecture.md.
    source = ROOT / "docs" / "architecture.md"
    assert link_problem(source, "mt5-webapi.md#handshake") is None
    assert link_problem(source, "../README.md") is None
    assert link_problem(source, "../server/src/mt5gateway_server/webapi") is None
    assert link_problem(source, "#error-model") is None
    assert link_problem(source, "#no-such-section") is not None
    assert link_problem(source, "https://example.com/x.md#nope") is None
    assert link_problem(source, "mt5-webapi.md#no-such-heading") is not None
    assert link_problem(source, "no-such-file.md") is not None
    assert link_problem(source, "../../shared/mt5-webapi/PROTOCOL.md") == (
        "points outside the repository"
    )
    assert link_problem(source, "/work/main/README.md") is not None
    assert citation_problem("docs/mt5-webapi.md", "#retcodes") is None
    assert citation_problem("docs/mt5-webapi.md", "#retcode") is not None
    assert citation_problem("docs/nothing.md", "") is not None


def test_link_and_heading_parsing(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Title\n"
        "## Title\n"
        'See [a](a.md#x), ![img](img.png "t") and `[not](a link)`.\n'
        "```\n"
        "## Not a heading\n"
        "[not](a link either)\n"
        "```\n"
        '<a name="explicit"></a>\n'
        "[ref]: ref.md#y\n",
        encoding="utf-8",
    )
    assert anchors(doc) == {"title", "title-1", "explicit"}
    assert [t for _, t in links(doc)] == ["a.md#x", "img.png", "ref.md#y"]


def test_shelf_pattern() -> None:
    for text in (
        "see ../shared/design/STYLE.md",
        "`../../shared/mt5-webapi/PROTOCOL.md`",
        "(PROTOCOL.md §4.3)",
        "TOOLCHAIN.md recipes",
        "/work/shared/seed/architecture.md",
        "limit (§9.1)",
    ):
        assert _SHELF.search(text), text
    for text in (
        "docs/architecture.md#error-model",
        "shared fixtures",
        "MYSTYLE.mdx",
        "RFC 6265 §5.2: ignore a cookie",
    ):
        assert not _SHELF.search(text), text
