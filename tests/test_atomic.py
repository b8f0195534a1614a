"""One way to write a file whole or not at all."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from broadsheet import atomic
from broadsheet.atomic import replace_whole, write_atomic


def makes_files_without_a_name(folder: Path) -> bool:
    """Whether the system makes a file without a name in `folder` (`O_TMPFILE`: Linux, most file systems)."""
    try:
        os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o666))
    except (AttributeError, OSError):
        return False
    return True


unnamed_files = pytest.mark.skipif(
    not makes_files_without_a_name(Path(__file__).parent), reason="no files without a name here"
)


def test_a_file_is_written_in_a_new_folder_and_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "new" / "email.html"
    assert write_atomic(target, b"first") == target
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [path.name for path in target.parent.iterdir()] == ["email.html"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "feed.atom"
    target.write_bytes(b"old")

    def fail(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["feed.atom"]


def test_a_new_file_has_the_permissions_the_umask_gives(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        written = write_atomic(tmp_path / "index.html", b"<p>")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(written.stat().st_mode) == 0o644


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    """An issue file a team shares (group-writable) stays so when `add` or `catalog update` rewrites it."""
    target = tmp_path / "2024-01-04.yaml"
    target.write_bytes(b"old")
    target.chmod(0o664)
    umask = os.umask(0o022)
    try:
        write_atomic(target, b"new")
    finally:
        os.umask(umask)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o664


def test_a_symbolic_link_stays_one_and_its_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    real = tmp_path / "shared" / "messages.po"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "messages.po"
    link.symlink_to(real)
    assert write_atomic(link, b"new") == link
    assert link.is_symlink()
    assert real.read_bytes() == b"new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(path.name for path in tmp_path.iterdir()) == ["messages.po", "shared"]
    assert [path.name for path in real.parent.iterdir()] == ["messages.po"]


def test_pieces_are_written_in_order_however_few_bytes_the_system_takes_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write may take part of what it is given (a signal, a full pipe, another system): the rest follows."""
    writev = os.writev
    calls = []

    def a_few_bytes_at_a_time(handle: int, buffers: list[memoryview]) -> int:
        calls.append(len(buffers))
        taken, room = [], 5
        for buffer in buffers:
            taken.append(buffer[:room])
            room -= len(taken[-1])
            if not room:
                break
        return writev(handle, taken)

    monkeypatch.setattr("os.writev", a_few_bytes_at_a_time)
    pieces = [b"From: news", b"", b"\r\n", b"x" * 23, "မြန်မာ".encode(), b"\r\n"]
    replace_whole(str(tmp_path / "copy.eml"), pieces, sync=False)
    assert (tmp_path / "copy.eml").read_bytes() == b"".join(pieces)
    assert len(calls) == -(-len(b"".join(pieces)) // 5)
    assert [path.name for path in tmp_path.iterdir()] == ["copy.eml"]


def test_more_pieces_than_one_write_takes_are_all_written(tmp_path: Path) -> None:
    pieces = [f"{n}\n".encode() for n in range(5000)]
    replace_whole(str(tmp_path / "many"), pieces)
    assert (tmp_path / "many").read_bytes() == b"".join(pieces)


def names_while_writing(folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The names in `folder` each time data is written, from now on."""
    seen: list[list[str]] = []
    writev = os.writev

    def looking(handle: int, buffers: list[memoryview]) -> int:
        seen.append(sorted(os.listdir(folder)))
        return writev(handle, buffers)

    monkeypatch.setattr("os.writev", looking)
    return seen


@unnamed_files
def test_a_new_file_has_no_name_in_its_folder_until_it_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One entry made in the folder (no temporary one made, then renamed), and only once the data is all there."""
    seen = names_while_writing(tmp_path, monkeypatch)
    replace_whole(str(tmp_path / "copy.eml"), [b"From: news\r\n", b"\r\n", b"body"], sync=False)
    assert seen == [[]]
    assert (tmp_path / "copy.eml").read_bytes() == b"From: news\r\n\r\nbody"


@unnamed_files
def test_a_file_replaced_is_the_old_one_until_the_new_one_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "copy.eml"
    target.write_bytes(b"old")
    umask = os.umask(0o022)
    try:
        seen = names_while_writing(tmp_path, monkeypatch)
        replace_whole(str(target), b"new", sync=False, mode=0o640)
    finally:
        os.umask(umask)
    assert seen == [["copy.eml"]]
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [path.name for path in tmp_path.iterdir()] == ["copy.eml"]


@unnamed_files
def test_a_process_killed_while_writing_leaves_nothing_behind(tmp_path: Path) -> None:
    killed_mid_write = f"""
import os, signal
from broadsheet.atomic import replace_whole
writev = os.writev
def killed(handle, buffers):
    writev(handle, buffers[:1])
    os.kill(os.getpid(), signal.SIGKILL)
os.writev = killed
replace_whole({str(tmp_path / "copy.eml")!r}, [b"half", b"the rest"], sync=False)
"""
    process = subprocess.run([sys.executable, "-c", killed_mid_write], check=False)
    assert process.returncode == -signal.SIGKILL
    assert list(tmp_path.iterdir()) == []


@unnamed_files
def test_a_forked_process_names_its_own_files(tmp_path: Path) -> None:
    """The way to a file without a name is the process's own open files: a child of a process that wrote
    files before must not reach for its parent's. (Forked in a process of its own, with no other threads.)"""
    forks = f"""
import os
from pathlib import Path
from broadsheet.atomic import replace_whole
folder = Path({str(tmp_path)!r})
replace_whole(str(folder / "parent.eml"), b"parent's", sync=False)
child = os.fork()
if not child:
    code = 1
    try:
        replace_whole(str(folder / "child.eml"), b"child's", sync=False)
        code = 0
    finally:
        os._exit(code)
_, status = os.waitpid(child, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""
    assert subprocess.run([sys.executable, "-c", forks], check=False).returncode == 0
    assert (tmp_path / "parent.eml").read_bytes() == b"parent's"
    assert (tmp_path / "child.eml").read_bytes() == b"child's"


@pytest.mark.parametrize(
    "refusal",
    [errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, "no /proc"],
    ids=["EOPNOTSUPP", "EISDIR", "EINVAL", "no /proc"],
)
def test_where_no_file_is_made_without_a_name_a_temporary_one_is_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: int | str
) -> None:
    """File systems that make no file without a name (EOPNOTSUPP), kernels before 3.11 (EISDIR), and a
    system without /proc: the file is written under a temporary name, renamed once whole."""
    system_open = os.open

    def refusing(path: str, flags: int, mode: int = 0o777, **options: object) -> int:
        if refusal == "no /proc" and path == "/proc/self/fd":
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")
        if isinstance(refusal, int) and flags & getattr(os, "O_TMPFILE", 0) == getattr(os, "O_TMPFILE", -1):
            raise OSError(refusal, os.strerror(refusal))
        return system_open(path, flags, mode, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic, "_open_files", None)
    monkeypatch.setattr("os.open", refusing)
    target = tmp_path / "copy.eml"
    for content in (b"first", b"second"):
        seen = names_while_writing(tmp_path, monkeypatch)
        replace_whole(str(target), [content], sync=False)
        [temporary] = [name for name in seen[0] if name != "copy.eml"] if len(seen) == 1 else seen
        assert temporary.startswith(".copy.eml.") and temporary.endswith(".tmp")
        assert target.read_bytes() == content
        assert [path.name for path in tmp_path.iterdir()] == ["copy.eml"]
