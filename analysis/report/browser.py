"""Check the HTML reports in a real headless browser (Debian's Chromium).

``check_reports_in_browser(reports_dir)`` opens ``reports/index.html`` in headless
Chromium and returns a :class:`BrowserCheck` whose ``problems`` name the page and the
element at fault (an empty list means the reports look right to a reader):

* the index answers HTTP 200 and has a title;
* every ``<img>`` on the index has loaded (``complete && naturalWidth > 0``);
* every link on the index resolves: links to HTML pages are opened in the browser, other
  links (PDF figures, CSV and LaTeX tables) are fetched and must answer HTTP 200;
* on every linked page: HTTP 200, a title, every ``<img>`` loaded, and no error output
  cell (see below);
* on every page: no failed request, no HTTP status of 400 or more, no uncaught
  JavaScript exception and no console error;
* on every page: each ``<img>`` has alt text (not empty, not nbconvert's placeholder),
  the page does not scroll sideways in the window, and every link to the site (the
  chapters' navigation, the files) answers HTTP 200; a full-page screenshot is saved
  when a folder is given.

Error output cells
------------------
nbconvert's HTML templates give a cell's stderr stream and its error output (the
traceback of an exception) the same mark: ``data-mime-type="application/vnd.jupyter.stderr"``
in the ``lab`` template (``output_stderr`` / ``output_error`` classes in ``classic``). Harmless
stderr, such as a ``FutureWarning`` from the warnings module, a progress bar or a log line
below ERROR, is therefore told apart by its text. An output counts as an error when it
is an ``output_error`` (classic template) or its text

* holds ``Traceback (most recent call last)`` (IPython's header of every traceback, and
  Python's own for a traceback printed to stderr), or
* has a line that starts with an exception's name followed by a colon or the line's end,
  such as ``ValueError: ...``, ``KeyboardInterrupt`` or ``pkg.mod.SomeException: ...``
  (IPython's last traceback line; SyntaxError tracebacks have no header), or
* has a line that starts with ``ERROR:`` or ``CRITICAL:`` (the logging module's default
  format at those levels).

A warning line (``/path/x.py:12: FutureWarning: ...``) starts with a path, not a name, and
is not counted. Stderr outputs that are not errors are listed in
:attr:`BrowserCheck.stderr` for the reader to look at. Papermill's mark of a failed run
(the ``#papermill-error-cell`` anchor it writes above the failing cell) also counts.

Choices
-------
* **Playwright for Python** drives the browser rather than Selenium: it reports every
  request's failure and response status, console messages and page errors as events and
  lets a route handler stop requests, all of which Selenium only gives through CDP logging
  or a proxy. Its wheel ships its own driver, so it installs from PyPI alone; it is started
  on Debian's ``/usr/bin/chromium`` (``executable_path``) and never downloads a browser.
* **A local HTTP server** (``http.server`` in a thread on 127.0.0.1, a random port) serves
  the reports dir rather than ``file://``: pages are then read as they are when the reports
  are published, a missing file is a plain HTTP 404 that names its URL, links are checked
  with the same request machinery, and Chromium's special rules for ``file://`` (no
  response object, no same-origin requests) do not blur the result.
* **Nothing leaves the machine.** Every request to another origin is stopped by a route
  handler and listed in :attr:`BrowserCheck.blocked`, not counted as a problem: nbconvert's
  pages load require.js and MathJax from a CDN, which a reader offline does without (the
  pages render; only LaTeX in Markdown cells would stay untypeset). An image from another
  origin would still be reported, as an image that did not load. Chromium itself is told
  to resolve no host name but 127.0.0.1.

Examples
--------
>>> result = check_reports_in_browser("reports")           # doctest: +SKIP
>>> result.problems                                        # doctest: +SKIP
[]
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import (
        BrowserContext,
        ConsoleMessage,
        Page,
        Request,
        Response,
        Route,
    )

#: Debian's Chromium (``apt-get install chromium``).
CHROMIUM: Path = Path("/usr/bin/chromium")

#: Where nbconvert puts stderr streams and error outputs (lab and classic templates).
STDERR_SELECTOR = '[data-mime-type="application/vnd.jupyter.stderr"], .output_stderr, .output_error'

_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
_EXCEPTION_LINE = re.compile(
    r"^\s*(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Interrupt|Exit)(?::|\s*$)", re.M
)
_LOG_ERROR_LINE = re.compile(r"^\s*(?:ERROR|CRITICAL):", re.M)

# Every image, once it has either loaded or failed (lazy images are made eager first).
_IMAGES_JS = """
async () => {
  const images = Array.from(document.images);
  for (const img of images) { if (img.loading === "lazy") img.loading = "eager"; }
  await Promise.all(images.map((img) => img.complete ? null : new Promise((done) => {
    img.addEventListener("load", done, {once: true});
    img.addEventListener("error", done, {once: true});
  })));
  return images.map((img) => ({
    src: img.getAttribute("src") || "",
    alt: img.getAttribute("alt") || "",
    complete: img.complete,
    naturalWidth: img.naturalWidth,
  }));
}
"""

#: What nbconvert writes when an image has no alt text, and an empty one.
PLACEHOLDER_ALT: frozenset[str] = frozenset({"", "No description has been provided for this image"})

_OVERFLOW_JS = """
() => ({scroll: document.documentElement.scrollWidth, window: window.innerWidth})
"""

_LINKS_JS = """
() => Array.from(document.querySelectorAll("a[href]")).map((a) => ({
  href: a.getAttribute("href"), url: a.href,
}))
"""

# Each stderr-marked output with the number of its cell (1-based, as in the notebook).
_STDERR_JS = """
(selector) => {
  const cells = Array.from(document.querySelectorAll(".jp-Cell, .cell"));
  return Array.from(document.querySelectorAll(selector)).map((el) => ({
    text: el.innerText || el.textContent || "",
    error: el.classList.contains("output_error"),
    cell: cells.indexOf(el.closest(".jp-Cell, .cell")) + 1,
  }));
}
"""


@dataclass
class BrowserCheck:
    """What the browser saw in a reports tree.

    Attributes
    ----------
    problems : list of str
        One line per fault, ``"<page>: <what>"``, the page named relative to the reports
        dir. Empty when everything loaded and no cell shows an error.
    pages : list of str
        The pages opened, the index first.
    images : int
        How many ``<img>`` elements were checked over all pages.
    links : int
        How many links on the index were followed or fetched.
    blocked : list of str
        Requests to other origins that were stopped (``"<page>: <url>"``); not problems.
    stderr : list of str
        Stderr outputs that are not errors (``"<page>: cell <n>: <first line>"``); not
        problems.
    screenshots : list of Path
        The screenshots taken (when a folder was given).
    """

    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    images: int = 0
    links: int = 0
    blocked: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def is_error_output(text: str) -> bool:
    """Whether the text of a stderr-marked output cell shows an error.

    Parameters
    ----------
    text : str
        The rendered text of the output (as the browser shows it, without ANSI colours).

    Returns
    -------
    bool
        True for a traceback, an exception's last line or a logging ERROR/CRITICAL line;
        False for warnings, progress bars and other stderr chatter.

    Examples
    --------
    >>> is_error_output("ValueError                Traceback (most recent call last)")
    True
    >>> is_error_output("  Cell In[2], line 1\\n    x =\\n       ^\\nSyntaxError: invalid syntax")
    True
    >>> is_error_output("/x/y.py:3: FutureWarning: the default will change\\n  df.groupby(k)")
    False
    """
    return bool(
        _TRACEBACK.search(text) or _EXCEPTION_LINE.search(text) or _LOG_ERROR_LINE.search(text)
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging each request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(root: str | Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 at a random port while the block runs.

    Parameters
    ----------
    root : str or Path
        The folder to serve.

    Yields
    ------
    str
        The base URL, ending in ``/``.
    """
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _short(url: str, base: str) -> str:
    return url[len(base) :] if url.startswith(base) else url


def _image_label(image: dict[str, Any], number: int) -> str:
    src = image["src"]
    if src.startswith("data:"):
        alt = f" alt={image['alt']!r}" if image["alt"] else ""
        return f"embedded image #{number} ({src[:30]}...{alt})"
    return f"<img src={src!r}>"


class _Checker:
    """One browser context over a served reports dir; collects what goes wrong."""

    def __init__(self, context: BrowserContext, base: str, result: BrowserCheck) -> None:
        self.base, self.result, self.current = base, result, "index.html"
        self.blocked_urls: set[str] = set()
        context.route("**/*", self._route)
        self.page: Page = context.new_page()
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("response", self._on_response)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problem(f"JavaScript error: {error}"))
        self.request = context.request

    def problem(self, text: str, page: str | None = None) -> None:
        self.result.problems.append(f"{page or self.current}: {text}")

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked_urls.add(url)
            self.result.blocked.append(f"{self.current}: {url}")
            route.abort("blockedbyclient")

    def _on_request_failed(self, request: Request) -> None:
        if request.url not in self.blocked_urls:
            self.problem(f"request failed: {_short(request.url, self.base)} ({request.failure})")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.problem(f"HTTP {response.status} for {_short(response.url, self.base)}")

    def _on_console(self, message: ConsoleMessage) -> None:
        # "Failed to load resource" repeats a failed request or an HTTP error status,
        # both reported already (or a blocked request to another origin).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problem(f"console error: {message.text}")

    def open(self, relative: str) -> bool:
        """Open a page; report its status and title. False when it could not be shown."""
        self.current = relative
        self.result.pages.append(relative)
        try:
            response = self.page.goto(self.base + relative, wait_until="load")
        except Exception as error:  # playwright's Error and its TimeoutError
            self.problem(f"could not be opened ({error})")
            return False
        if response is None or response.status != 200:
            # An HTTP error status is already reported by the response handler.
            if response is None:
                self.problem("no HTTP response")
            return False
        if not self.page.title().strip():
            self.problem("the page has no title")
        return True

    def check_images(self) -> None:
        images = self.page.evaluate(_IMAGES_JS)
        self.result.images += len(images)
        for number, image in enumerate(images, start=1):
            if not (image["complete"] and image["naturalWidth"] > 0):
                self.problem(
                    f"image {_image_label(image, number)} did not load "
                    f"(complete={image['complete']}, naturalWidth={image['naturalWidth']})"
                )
            if image["alt"].strip() in PLACEHOLDER_ALT:
                self.problem(f"image {_image_label(image, number)} has no alt text")

    def check_layout(self) -> None:
        """The page fits the window's width: nothing makes it scroll sideways."""
        width = self.page.evaluate(_OVERFLOW_JS)
        if width["scroll"] > width["window"] + 1:
            self.problem(
                f"horizontal overflow: the page is {width['scroll']} px wide in a "
                f"{width['window']} px window"
            )

    def check_page_links(self) -> None:
        """Every link of the page to this site (its navigation, its files) answers 200."""
        for link in self.page.evaluate(_LINKS_JS):
            href, url = link["href"], link["url"]
            if url.startswith(self.base) and not href.startswith("#"):
                self.check_link(href, url.split("#")[0], page=self.current)

    def screenshot(self, folder: Path | None) -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            name = self.current.replace("/", "_").removesuffix(".html") + ".png"
            self.page.screenshot(path=str(folder / name), full_page=True)
            self.result.screenshots.append(folder / name)

    def check_outputs(self) -> None:
        if self.page.locator("#papermill-error-cell").count():
            self.problem("papermill marks a cell where execution stopped on an exception")
        for output in self.page.evaluate(_STDERR_JS, STDERR_SELECTOR):
            lines = [line for line in output["text"].splitlines() if line.strip()]
            where = f"cell {output['cell']}" if output["cell"] else "an output outside any cell"
            if output["error"] or is_error_output(output["text"]):
                # The last line of a traceback names the exception and its message.
                self.problem(f"error output in {where}: {lines[-1][:200] if lines else ''}")
            else:
                self.result.stderr.append(f"{self.current}: {where}: {lines[0][:200]}")

    def check_link(self, href: str, url: str, page: str = "index.html") -> None:
        """Fetch a link of ``page``; it must answer HTTP 200."""
        try:
            response = self.request.get(url)
        except Exception as error:
            self.problem(f"link {href!r} could not be fetched ({error})", page=page)
            return
        if response.status != 200:
            self.problem(f"link {href!r} answers HTTP {response.status}", page=page)
        response.dispose()


def check_reports_in_browser(
    reports_dir: str | Path,
    *,
    executable: str | Path = CHROMIUM,
    timeout_ms: float = 30_000,
    screenshots: str | Path | None = None,
    viewport: tuple[int, int] = (1280, 900),
) -> BrowserCheck:
    """Open the reports' index and every page it links in headless Chromium.

    Parameters
    ----------
    reports_dir : str or Path
        The reports tree written by :func:`analysis.report.run.run_reports` (holding
        ``index.html``).
    executable : str or Path
        The Chromium binary; Debian's ``/usr/bin/chromium`` by default.
    timeout_ms : float
        Playwright's time limit for each navigation and action, in milliseconds.
    screenshots : str or Path, optional
        A folder for a full-page screenshot of every page (``index.png``,
        ``html_01_workforce.png``, ...), for a person to look at.
    viewport : (int, int)
        The window's width and height in pixels (the overflow check uses its width).

    Returns
    -------
    BrowserCheck
        The problems found (empty when the reports are fine) and what was checked.

    Raises
    ------
    FileNotFoundError
        When ``reports_dir/index.html`` or the Chromium binary is missing.
    ImportError
        When Playwright (the ``dev`` extra) is not installed.
    """
    reports_dir = Path(reports_dir).resolve()
    if not (reports_dir / "index.html").is_file():
        raise FileNotFoundError(f"no index.html in {reports_dir}")
    executable = Path(executable)
    if not executable.is_file():
        raise FileNotFoundError(f"Chromium not found at {executable} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    result = BrowserCheck()
    with serve_directory(reports_dir) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # Resolve no host name but the local server's: nothing leaves the machine.
            args=["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
        )
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.set_default_timeout(timeout_ms)
            checker = _Checker(context, base, result)
            shots = None if screenshots is None else Path(screenshots)
            if not checker.open("index.html"):
                return result
            checker.check_images()
            checker.check_layout()
            checker.screenshot(shots)
            links = checker.page.evaluate(_LINKS_JS)
            pages: list[str] = []
            for link in links:
                href, url = link["href"], urljoin(base, link["url"])
                if not url.startswith(base) or href.startswith("#"):
                    continue  # another site, or a place on the index itself
                result.links += 1
                path = urlsplit(url).path
                if path.endswith((".html", ".htm")):
                    relative = _short(url.split("#")[0], base)
                    if relative not in pages and relative != "index.html":
                        pages.append(relative)
                else:
                    checker.check_link(href, url)
            for relative in pages:
                if checker.open(relative):
                    checker.check_images()
                    checker.check_outputs()
                    checker.check_layout()
                    checker.check_page_links()
                    checker.screenshot(shots)
        finally:
            browser.close()
    return result
