"""One way to write a file whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from broadsheet.atomic import replace_whole, write_atomic


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
