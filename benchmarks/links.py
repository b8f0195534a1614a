"""Benchmark: `broadsheet links` on 300 links spread over 30 local hosts that each answer after 200 ms.

Run from the repository root: `.venv/bin/python benchmarks/links.py [--linkchecker PATH] [--runs N]`.
The 30 hosts are asyncio HTTP/1.1 servers on loopback ports, in a process of
their own, each answering HEAD and GET after 200 ms. Measured side by side in
one run: broadsheet's checker (the library call and the `broadsheet links`
process), a floor (a bare concurrent loop of HEAD requests with httpx, no
bound per host, no redirects handled, no cache), and LinkChecker (PyPI
`linkchecker`) on a page holding the same 300 links, when it is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOSTS = 30
LINKS_PER_HOST = 10
DELAY = 0.2
ADDRESSES = [f"127.0.0.{2 + n}" for n in range(HOSTS)]


async def _serve(ports: multiprocessing.Queue[list[int]]) -> None:
    async def answer(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, body: bytes
    ) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method = head.split(b" ", 1)[0]
                await asyncio.sleep(delay)
                writer.write(
                    # `LinkChecker:` lets LinkChecker go faster than 10 requests a second to a host when its settings allow.
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nLinkChecker: ok\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + (b"" if method == b"HEAD" else body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    page = b"<html><title>ok</title></html>"
    # Each host an address of its own (127.0.0.2 to 127.0.0.31; Linux routes all of 127/8 to loopback): LinkChecker
    # bounds requests per host name, whatever the port.
    servers = [
        await asyncio.start_server(lambda r, w: answer(r, w, DELAY, page), address, 0, backlog=512)
        for address in ADDRESSES
    ]
    numbers = [s.sockets[0].getsockname()[1] for s in servers]
    # LinkChecker checks the links of a page: the same 300, served without delay from a host of its own.
    index = (
        "<html><body>"
        + "".join(f'<a href="{url}">{n}</a>\n' for n, url in enumerate(link_urls(numbers)))
        + "</body></html>"
    ).encode()
    index_server = await asyncio.start_server(lambda r, w: answer(r, w, 0.0, index), "127.0.0.1", 0)
    ports.put([*numbers, index_server.sockets[0].getsockname()[1]])
    await asyncio.Event().wait()


def _server_process(ports: multiprocessing.Queue[list[int]]) -> None:
    asyncio.run(_serve(ports))


def link_urls(ports: list[int]) -> list[str]:
    return [
        f"http://{address}:{port}/page/{n}"
        for address, port in zip(ADDRESSES, ports, strict=True)
        for n in range(LINKS_PER_HOST)
    ]


def issue_text(urls: list[str]) -> str:
    items = "".join(f"    - title: Link {n}\n      url: {url}\n      by: P\n" for n, url in enumerate(urls))
    return f"date: 2024-03-14\ntitle: Three Hundred Links\neditorial: Text.\nresources:\n  reports:\n{items}"


def project_with(urls: list[str], root: Path) -> Path:
    (root / "issues").mkdir(parents=True)
    (root / "broadsheet.toml").write_text("", encoding="utf-8")
    path = root / "issues" / "2024-03-14.yaml"
    path.write_text(issue_text(urls), encoding="utf-8")
    return path


def time_library(urls: list[str]) -> tuple[float, int]:
    from broadsheet.curate.links import check_links
    from broadsheet.settings import find_project

    with tempfile.TemporaryDirectory() as folder:
        path = project_with(urls, Path(folder))
        start = time.perf_counter()
        report = check_links(find_project(Path(folder)), path)
        return time.perf_counter() - start, report.checked


def time_process(urls: list[str]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        project_with(urls, Path(folder))
        start = time.perf_counter()
        subprocess.run(
            [str(REPO / ".venv" / "bin" / "broadsheet"), "links", "issues/2024-03-14.yaml"],
            cwd=folder,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start


def time_floor(urls: list[str]) -> float:
    import httpx

    async def loop() -> None:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=None)) as client:
            answers = await asyncio.gather(*(client.head(url) for url in urls))
        assert all(answer.status_code == 200 for answer in answers)

    start = time.perf_counter()
    asyncio.run(loop())
    return time.perf_counter() - start


def time_linkchecker(program: str, index_port: int, settings: str | None) -> tuple[float, str]:
    """LinkChecker on the index page, with its defaults or the given configuration file text."""
    with tempfile.TemporaryDirectory() as folder:
        # LinkChecker run as root drops to `nobody`, who must be able to read its configuration.
        os.chmod(folder, 0o755)
        extra = []
        if settings is not None:
            (Path(folder) / "linkcheckerrc").write_text(settings, encoding="utf-8")
            extra = ["--config", str(Path(folder) / "linkcheckerrc")]
        start = time.perf_counter()
        done = subprocess.run(
            [
                program,
                *extra,
                "--check-extern",
                "--recursion-level=1",
                "--no-status",
                "--no-robots",
                f"http://127.0.0.1:{index_port}/index.html",
            ],
            capture_output=True,
            text=True,
            cwd=folder,
            env={**os.environ, "HOME": folder},
        )
        elapsed = time.perf_counter() - start
    found = re.search(r"(\d+) links? in (\d+) URLs? checked", done.stdout)
    return elapsed, (
        f"{found.group(2)} URLs"
        if found
        else f"exit {done.returncode}: {(done.stdout + done.stderr).strip()[-300:]}"
    )


# As many threads as broadsheet has connections (30 hosts x 4), and no pause between requests to a host.
LINKCHECKER_TUNED = "[checking]\nthreads=120\nmaxrequestspersecond=1000\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--linkchecker",
        default=shutil.which("linkchecker"),
        help="The linkchecker program (default: the one on PATH).",
    )
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ports_queue: multiprocessing.Queue[list[int]] = context.Queue()
    server = context.Process(target=_server_process, args=(ports_queue,), daemon=True)
    server.start()
    try:
        ports = ports_queue.get(timeout=30)
        urls = link_urls(ports[:HOSTS])
        print(
            f"{len(urls)} links on {HOSTS} hosts, each answering after {DELAY * 1000:.0f} ms; median of {options.runs} runs"
        )
        library = [time_library(urls) for _ in range(options.runs)]
        assert all(checked == len(urls) for _, checked in library)
        rows = [
            (
                "broadsheet, check_links (library call)",
                statistics.median(t for t, _ in library),
                f"{len(urls)} URLs",
            ),
            (
                "broadsheet links (a new process)",
                statistics.median(time_process(urls) for _ in range(options.runs)),
                f"{len(urls)} URLs",
            ),
            (
                "floor: httpx HEAD loop, no per-host bound",
                statistics.median(time_floor(urls) for _ in range(options.runs)),
                f"{len(urls)} URLs",
            ),
        ]
        if options.linkchecker:
            for name, settings in (
                ("linkchecker, its defaults", None),
                ("linkchecker, 120 threads, no pause per host", LINKCHECKER_TUNED),
            ):
                runs = [
                    time_linkchecker(options.linkchecker, ports[HOSTS], settings)
                    for _ in range(options.runs if settings else 1)
                ]
                rows.append((name, statistics.median(t for t, _ in runs), runs[0][1]))
        else:
            rows.append(("linkchecker", float("nan"), "not installed: give --linkchecker PATH"))
        for name, seconds, what in rows:
            print(f"| {name} | {seconds:.2f} s | {what} |")
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
