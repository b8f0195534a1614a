"""Live preview for editors: the issue rendered in every locale, rebuilt and reloaded as files change.

watchfiles tells the server when the issue, a template, a catalog or the
settings change, and `/state` counts the changes; the page asks for it every
400 ms (an answer from memory) and reloads when it moves, and the issue is
built again. Errors in the issue are shown in place of the email, with their
locations, and the server keeps running until they are fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from watchfiles import awatch

from . import catalogs
from .errors import BroadsheetError, Diagnostic, InvalidInput
from .pipeline import editions
from .render import Email
from .schema import language_tag
from .settings import SETTINGS_FILE, Project, find_project

PHONE, DESKTOP = 375, 680


class _Changes:
    """Counts the changes watchfiles reports in the files an issue's preview is built from."""

    def __init__(self, project: Project, issue: Path) -> None:
        settings = project.root / SETTINGS_FILE
        # The issue's folder rather than the file: an editor may save by replacing the file.
        watched = [issue.parent, project.templates_dir, project.locales_dir, settings]
        self.paths = [path for path in watched if path.exists()]
        self.count = 0

    @property
    def state(self) -> str:
        return str(self.count)

    async def watch(self, stop: asyncio.Event) -> None:
        """Count changes until `stop` is set."""
        async for _ in awatch(*self.paths, stop_event=stop):
            self.count += 1


@dataclass(frozen=True)
class Preview:
    """One build of the issue for the preview: its emails, or the problems that stopped it."""

    state: str
    emails: dict[str, Email]
    diagnostics: list[Diagnostic]
    problem: str = ""
    status: tuple[catalogs.CatalogStatus, ...] = ()


def build_preview(root: Path, issue: Path, state: str) -> Preview:
    """Build every locale of `issue`; never raises for anything in the user's files."""
    try:
        project = find_project(root)
        made = editions(project, issue, shown=_shown(issue, project))
        # What `catalog status ISSUE` prints, so that the table agrees with it and with the build's warnings.
        status = tuple(catalogs.issue_status(project, made.issue))
        return Preview(state, made.emails, list(made.diagnostics), status=status)
    except InvalidInput as exc:
        return Preview(state, {}, list(exc.diagnostics))
    except BroadsheetError as exc:
        return Preview(state, {}, [], problem=exc.message)


def _shown(path: Path, project: Project) -> str:
    try:
        return path.resolve().relative_to(project.root).as_posix()
    except ValueError:
        return str(path)


def create_app(root: Path, issue: Path) -> Starlette:
    """The preview server of `issue` in the project at `root`."""
    changes = _Changes(find_project(root), issue)
    lock = threading.Lock()
    cache: dict[str, Preview] = {}

    def current() -> Preview:
        state = changes.state
        with lock:
            if state not in cache:
                cache.clear()
                cache[state] = build_preview(root, issue, state)
            return cache[state]

    async def page(request: Request) -> Response:
        preview = current()
        locale = request.query_params.get("locale") or next(iter(preview.emails), "")
        width = DESKTOP if request.query_params.get("width") == "desktop" else PHONE
        part = "text" if request.query_params.get("part") == "text" else "html"
        return HTMLResponse(_page(preview, issue.name, locale, width, part))

    async def email(request: Request) -> Response:
        preview = current()
        found = preview.emails.get(request.path_params["locale"])
        if found is None:
            return PlainTextResponse("no such edition", status_code=404)
        part = request.path_params["part"]
        # The text part has no lang attribute: the header is what tells the browser its language.
        language = {"Content-Language": language_tag(found.locale)}
        if part in ("text", "txt"):
            return PlainTextResponse(found.text, headers=language)
        if part == "html":
            return HTMLResponse(found.html, headers=language)
        return PlainTextResponse("no such part: .html or .text", status_code=404)

    async def state(request: Request) -> Response:
        return JSONResponse({"state": changes.state})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        watching = asyncio.create_task(changes.watch(stop))
        # The task's first step starts the watcher, before it first waits; let it run before serving.
        await asyncio.sleep(0)
        try:
            yield
        finally:
            stop.set()
            await watching

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/", page),
            Route("/state", state),
            Route("/email/{locale}.{part:str}", email),
        ],
    )


def _page(preview: Preview, name: str, locale: str, width: int, part: str) -> str:
    """The preview page: a toolbar, the problems, and the chosen edition in a frame of the chosen width."""
    e = html.escape
    links = []
    for code in preview.emails:
        for label, query in (
            (f"{code} phone", f"locale={code}&width=phone"),
            (f"{code} desktop", f"locale={code}&width=desktop"),
            (f"{code} text", f"locale={code}&part=text"),
        ):
            links.append(f'<a href="/?{query}">{e(label)}</a>')
    problems = "".join(f'<li class="{d.severity.value}">{e(str(d))}</li>' for d in preview.diagnostics)
    if preview.problem:
        problems += f'<li class="error">{e(preview.problem)}</li>'
    status = "".join(
        f"<tr><td>{e(s.locale)}</td><td>{e(s.domain)}</td><td>{s.translated}</td><td>{s.fuzzy}</td><td>{s.untranslated}</td><td>{s.percent:.0f}%</td></tr>"
        for s in preview.status
    )
    if status:
        status = (
            "<tr><th>locale</th><th>catalog</th><th>translated</th><th>fuzzy</th><th>untranslated</th>"
            f"<th>done</th></tr>{status}"
        )
    chosen = preview.emails.get(locale)
    if chosen is None and preview.emails:
        known = ", ".join(preview.emails)
        body = f'<p class="error">No edition {e(locale)!r}: the editions are {e(known)}.</p>'
    elif chosen is None:
        body = '<p class="error">The issue has errors: the email is shown again once they are fixed.</p>'
    else:
        size = f"HTML {chosen.html_bytes / 1000:.1f} KB of the 102 KB Gmail shows unclipped"
        body = (
            f'<p class="size">{e(size)}</p>'
            f'<iframe title="{e(locale)} edition" src="/email/{e(locale)}.{part}" style="width:{width}px;height:80vh;border:1px solid #ccc"></iframe>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Preview: {e(name)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1rem}} .error{{color:#a00}} .warning{{color:#875a00}}
nav a{{margin-right:.8rem}} table{{border-collapse:collapse}} td{{padding:0 .6rem}}</style></head>
<body data-state="{e(preview.state)}">
<h1>Preview: {e(name)}</h1>
<nav>{"".join(links)}</nav>
<ul class="problems">{problems}</ul>
<table class="status">{status}</table>
{body}
<script>
const shown = document.body.dataset.state;
setInterval(async () => {{
  try {{
    const now = (await (await fetch("/state")).json()).state;
    if (now !== shown) location.reload();
  }} catch (e) {{}}
}}, 400);
</script>
</body></html>
"""
