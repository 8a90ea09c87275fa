"""The built book, read in a real browser (headless Debian Chromium via Playwright).

``make test`` builds the quick-mode book first and points ``AE_BOOK_HTML`` at it. The
folder is served on 127.0.0.1; for every page of ``_toc.yml`` this checks that

- the page logs no console error, throws no uncaught exception and fetches nothing
  that fails, and nothing from outside the book (it works offline);
- every image decodes (``naturalWidth > 0``) and every chapter notebook shows figures;
- every formula is typeset by MathJax (served from the book itself) without TeX errors;
- the previous/next links lead to the neighbouring pages in the table of contents;
- notebook pages carry Binder and Colab launch links for their own notebook;
- every link into the book leads to a file that exists, and its ``#fragment`` to an
  element of that page;
- axe-core (WCAG 2.0/2.1 A and AA rules) finds nothing serious or critical, in light
  and in dark mode (also on ``search.html`` and ``genindex.html``);

that ``index.html`` lands on the introduction, and that the search page finds
"autoencoder" on every page. A full-page screenshot of each page goes to
``tests/screenshots/``.

axe-core is the npm package pinned in ``package.json``/``package-lock.json``; ``make
test`` installs it into ``node_modules/`` with ``npm ci`` (where npm exists).

Without ``/usr/bin/chromium``, a built book or ``node_modules/axe-core`` the tests are
skipped, except under CI (``CI`` set), where they fail instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from _book import CONFIG, ROOT, TOC, toc_files

sys.path.insert(0, str(ROOT / "tools"))
import book_source  # noqa: E402  (tools/ is not a package)

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",  # containers give /dev/shm only 64 MB
]
TIMEOUT_MS = 30_000
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA; a violation of impact serious or critical fails.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_FAILING_IMPACTS = ("serious", "critical")


PAGES = toc_files()
IDS = [Path(p).name for p in PAGES]
# The pages Sphinx adds beside the table of contents.
ALL_PAGES = PAGES + ["search", "genindex"]
ALL_IDS = [Path(p).name for p in ALL_PAGES]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str):
    """Skip on a developer's machine; fail under CI, where the test must run."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(reason)


def _html_dir() -> Path:
    value = os.environ.get("AE_BOOK_HTML", "_build/quick/_build/html")
    path = Path(value)
    if not path.is_absolute():
        path = path if path.exists() else ROOT / path
    return path.resolve()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def book() -> Path:
    html = _html_dir()
    if not (html / "search.html").exists():
        _unavailable(
            f"no built book in {html}: build it first (`make test` does), or point "
            "AE_BOOK_HTML at a jupyter-book HTML folder"
        )
    return html


@pytest.fixture(scope="module")
def server(book):
    """The built book on http://127.0.0.1:<free port>/, stopped after the module."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(book)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def axe() -> Path:
    """axe-core's browser bundle, as ``npm ci`` installs it from package-lock.json."""
    if not AXE.exists():
        _unavailable(f"{AXE.relative_to(ROOT)} is missing: run `npm ci` (`make test` does)")
    return AXE


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: install Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (it is pinned in requirements.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """One page in a fresh browser context, with everything that went wrong on it."""

    def __init__(self, browser, base: str, color_scheme: str = "light"):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=color_scheme)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.external: list[str] = []
        page = self.page
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught exception: {error}"))
        page.on("request", self._request)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message):
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text} [{where}]")

    def _request(self, request):
        if not request.url.startswith(self.base) and not request.url.startswith("data:"):
            self.external.append(request.url)

    def _failed(self, request):
        # A navigation (the index page's redirect) aborts what the old page still loads.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response):
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def open(self, path: str):
        self.page.goto(self.base + path, wait_until="load")
        self.settle()

    def settle(self):
        """Wait until the page is quiet, MathJax has typeset it and fonts are in."""
        self.page.wait_for_load_state("networkidle")
        self.page.evaluate(
            """() => (window.MathJax && MathJax.startup && MathJax.startup.promise)
                     ? MathJax.startup.promise.then(() => true) : false"""
        )
        self.page.evaluate("() => document.fonts.ready.then(() => true)")

    def path(self) -> str:
        return urlsplit(self.page.url).path

    def screenshot(self, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def assert_clean(self):
        assert not self.problems, "the page logged problems:\n" + "\n".join(self.problems)
        assert not self.external, "the page fetched from outside the book (it must work offline):\n" + "\n".join(
            self.external
        )

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    visits: list[Visit] = []

    def make(**options) -> Visit:
        visits.append(Visit(browser, server, **options))
        return visits[-1]

    yield make
    for v in visits:
        v.close()


def _built(book: Path, docname: str) -> str:
    html = f"{docname}.html"
    if not (book / html).exists():
        reason = f"{html} is not in the built book"
        if _in_ci():
            pytest.fail(reason)
        pytest.skip(f"{reason} (built from a partial toc?)")
    why = book_source.not_built_reason((book / html).read_text(encoding="utf-8"))
    if why is not None:  # tools/book_source.py put a page saying why in the chapter's place
        _unavailable(f"{docname} was not built on this machine: {why}")
    return html


def _built_pages(book: Path) -> list[str]:
    return [d for d in PAGES if (book / f"{d}.html").exists()]


# --------------------------------------------------------------------------- tests

IMAGES_JS = """async () => {
  const wait = (img) => Promise.race([
    img.decode().catch(() => null),
    new Promise((resolve) => setTimeout(resolve, 10000)),
  ]);
  const images = [...document.images];
  for (const img of images) { img.loading = "eager"; }
  await Promise.all(images.map(wait));
  return images.map((img) => ({
    src: img.currentSrc || img.src,
    width: img.naturalWidth,
    alt: img.alt,
  }));
}"""

MATH_JS = """() => {
  const math = [...document.querySelectorAll(".math")];
  return {
    formulas: math.length,
    typeset: document.querySelectorAll("mjx-container").length,
    raw: math.filter((el) => !el.querySelector("mjx-container"))
             .map((el) => el.textContent.trim().slice(0, 80)),
    errors: [...document.querySelectorAll("mjx-merror")]
             .map((el) => el.getAttribute("data-mjx-error") || el.textContent),
  };
}"""


@pytest.mark.parametrize("docname", PAGES, ids=IDS)
def test_page_renders_cleanly(book, visit, docname):
    html = _built(book, docname)
    v = visit()
    v.open(html)
    page = v.page
    v.screenshot(Path(docname).name)

    assert page.locator("h1").count() >= 1, "the page has no title"

    images = page.evaluate(IMAGES_JS)
    broken = [img["src"] for img in images if img["width"] == 0]
    assert not broken, f"images that do not decode: {broken}"
    is_notebook = (ROOT / f"{docname}.ipynb").exists()
    if is_notebook:
        figures = [img for img in images if "/_images/" in img["src"]]
        assert figures, "a chapter notebook should show its figures (plots) in the book"

    math = page.evaluate(MATH_JS)
    if math["formulas"]:
        assert math["typeset"] > 0, f"{math['formulas']} formulas but MathJax typeset none (did MathJax load?)"
        assert not math["raw"], f"formulas left as raw TeX: {math['raw']}"
        assert not math["errors"], f"TeX errors: {math['errors']}"

    v.assert_clean()


@pytest.mark.parametrize("docname", PAGES, ids=IDS)
def test_previous_and_next_links_follow_the_toc(book, visit, docname):
    """Both links point at the TOC's neighbours; following one of them (next, or previous on the
    last page) loads that page cleanly. Every page is also opened by the tests above."""
    html = _built(book, docname)
    pages = _built_pages(book)
    i = pages.index(docname)
    expected = {
        "a.left-prev": pages[i - 1] if i > 0 else None,
        "a.right-next": pages[i + 1] if i + 1 < len(pages) else None,
    }
    v = visit()
    v.open(html)
    for selector, target in expected.items():
        link = v.page.locator(selector)
        if target is None:
            assert link.count() == 0, f"{selector} should not exist on {docname}"
            continue
        assert link.count() == 1, f"{docname} has no {selector} link to {target}"
        href = link.evaluate("a => a.href")  # resolved against the page's address
        assert href.split("#")[0].endswith(f"/{target}.html"), f"{selector} on {docname} goes to {href}"
    selector = "a.right-next" if expected["a.right-next"] else "a.left-prev"
    target = expected[selector]
    v.page.locator(selector).click()
    v.page.wait_for_url(f"**/{target}.html")
    v.settle()
    assert v.path().endswith(f"/{target}.html")
    assert v.page.locator("h1").count() >= 1
    v.assert_clean()


def test_index_lands_on_the_introduction(book, visit):
    v = visit()
    v.page.goto(v.base, wait_until="load")
    v.page.wait_for_url(f"**/{TOC['root']}.html")
    v.settle()
    assert v.path().endswith(f"/{TOC['root']}.html")
    v.assert_clean()


def test_search_finds_autoencoder_on_every_page(book, visit):
    v = visit()
    v.open("search.html?q=autoencoder")
    page = v.page
    page.wait_for_function(
        """() => {
          const s = document.querySelector("#search-results .search-summary");
          return s && /found/i.test(s.textContent);
        }"""
    )
    v.screenshot("search")
    summary = page.locator("#search-results .search-summary").inner_text()
    hrefs = page.eval_on_selector_all("#search-results ul.search li > a", "links => links.map(a => a.href)")
    assert hrefs, f"no search results for 'autoencoder': {summary!r}"
    found = {urlsplit(h).path.lstrip("/").removesuffix(".html") for h in hrefs}
    missing = [d for d in _built_pages(book) if d not in found]
    assert not missing, f"search for 'autoencoder' does not find {missing} ({summary!r})"
    v.assert_clean()


def _notebook_pages() -> list[str]:
    return [d for d in PAGES if (ROOT / f"{d}.ipynb").exists()] or [PAGES[0]]


@pytest.mark.parametrize("docname", _notebook_pages(), ids=lambda d: Path(d).name)
def test_notebook_pages_launch_binder_and_colab(book, docname):
    html = _built(book, docname)
    if not (ROOT / f"{docname}.ipynb").exists():
        pytest.skip("no notebook chapter yet")
    text = (book / html).read_text(encoding="utf-8")
    repo = CONFIG["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    launch = CONFIG["launch_buttons"]
    binder = f"{launch['binderhub_url']}/v2/gh/{repo}/{branch}?urlpath=lab/tree/{docname}.ipynb"
    # Colab opens the generated plain-Markdown copy (tools/notebooks.py, tools/colab_launch.py).
    colab_copy = f"colab/{Path(docname).name}.ipynb"
    colab = f"{launch['colab_url']}/github/{repo}/blob/{branch}/{colab_copy}"
    hrefs = set(re.findall(r'href="([^"]+)"', text))
    assert binder in hrefs, f"no Binder (JupyterLab) launch link {binder}"
    assert colab in hrefs, f"no Colab launch link to the Colab copy {colab}"
    assert (ROOT / colab_copy).exists(), f"{colab_copy} is missing: run `make notebooks`"


# --------------------------------------------------------------------------- links

LINKS_JS = """() => [...document.querySelectorAll("a[href]")].map((a) => ({
  href: a.getAttribute("href"),
  url: new URL(a.getAttribute("href"), document.baseURI).href,
  text: (a.textContent || a.getAttribute("aria-label") || a.getAttribute("title") || "")
          .trim().replace(/\\s+/g, " ").slice(0, 60),
}))"""

ANCHORS_JS = """() => [
  ...[...document.querySelectorAll("[id]")].map((el) => el.id),
  ...[...document.querySelectorAll("a[name]")].map((a) => a.name),
]"""


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if value and (key == "id" or (key == "name" and tag == "a")):
                self.names.add(value)


@functools.cache
def _anchors(path: Path) -> frozenset[str]:
    """The ids (and <a name>s) of a built HTML page, as served."""
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.names)


@pytest.mark.parametrize("docname", ALL_PAGES, ids=ALL_IDS)
def test_internal_links_resolve(book, visit, docname):
    """Every <a href> into the book (relative, or on the book's host) leads to a file of
    the built book, and its #fragment to an id on the target page (the live page for
    links within the page itself, the built HTML for the others)."""
    html_name = _built(book, docname)
    v = visit()
    v.open(html_name)
    here = urlsplit(v.page.url)
    live = set(v.page.evaluate(ANCHORS_JS))
    broken: list[str] = []
    internal = 0
    for link in v.page.evaluate(LINKS_JS):
        url = urlsplit(link["url"])
        if url.scheme not in ("http", "https") or url.netloc != here.netloc:
            continue  # external, mailto:, javascript: ...
        internal += 1
        what = f"{link['href']!r} ({link['text']!r})"
        path = unquote(url.path)
        target = (book / path.lstrip("/")).resolve()
        if path.endswith("/"):
            target = target / "index.html"
        if not target.is_relative_to(book) or not target.is_file():
            broken.append(f"{what}: no file {path} in the book")
            continue
        fragment = unquote(url.fragment)
        if not fragment or target.suffix != ".html":
            continue
        anchors = live if url.path == here.path else _anchors(target)
        if fragment not in anchors:
            broken.append(f"{what}: {path} has no element with id {fragment!r}")
    assert internal, f"{docname} links to nothing in the book (did the page render?)"
    assert not broken, f"{len(broken)} of {internal} links into the book lead nowhere:\n" + "\n".join(broken)


# --------------------------------------------------------------------------- axe-core

AXE_JS = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations.map((rule) => ({
    id: rule.id,
    help: rule.help,
    nodes: rule.nodes.map((node) => ({
      impact: node.impact || rule.impact,
      target: node.target.flat(Infinity).join(" >>> "),
      html: node.html,
      message: [...node.any, ...node.all, ...node.none].map((c) => c.message)
                 .filter(Boolean)[0] || "",
    })),
  }));
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("docname", ALL_PAGES, ids=ALL_IDS)
def test_pages_pass_axe(book, axe, visit, docname, scheme):
    """axe-core's WCAG 2.0/2.1 A and AA rules find nothing serious or critical on the
    page, with the reader's system in light and in dark mode (the book follows it)."""
    html_name = _built(book, docname)
    v = visit(color_scheme=scheme)
    v.open(html_name)
    theme = v.page.evaluate("() => document.documentElement.dataset.theme")
    assert theme == scheme, f"the page shows the {theme} theme, not {scheme}"
    v.page.add_script_tag(path=str(axe))
    violations = v.page.evaluate(AXE_JS, AXE_TAGS)
    failing = [
        f"[{node['impact']}] {rule['id']} ({rule['help']}): {node['target']}\n"
        f"    {node['html'][:200]}\n    {node['message'][:200]}"
        for rule in violations
        for node in rule["nodes"]
        if node["impact"] in AXE_FAILING_IMPACTS
    ]
    shown = 30
    assert not failing, (
        f"axe-core: {len(failing)} serious or critical violations in {scheme} mode:\n"
        + "\n".join(failing[:shown])
        + (f"\n... and {len(failing) - shown} more" if len(failing) > shown else "")
    )
    v.assert_clean()
