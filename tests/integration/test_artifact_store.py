"""FilesystemArtifactStore: generated names, atomic writes, SHA-256 checks, gzip, LRU cache."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regimeforge.adapters.artifacts import FilesystemArtifactStore
from regimeforge.domain.errors import ArtifactIntegrityError, NotFoundError, StorageError

PAYLOAD = b"PK\x03\x04 a model file " * 100


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tamper(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_put_open_round_trip_with_generated_sharded_names(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path / "artifacts")
    info = store.put(PAYLOAD, suffix=".model")
    assert re.fullmatch(r"([0-9a-f]{2})/\1[0-9a-f]{30}\.model", info.name)
    assert info.sha256 == sha(PAYLOAD) and info.size_bytes == len(PAYLOAD)
    assert (tmp_path / "artifacts" / info.name).read_bytes() == PAYLOAD
    assert store.open(info.name, info.sha256) == PAYLOAD
    assert store.exists(info.name) and store.size(info.name) == len(PAYLOAD)
    assert store.sha256(info.name) == info.sha256
    other = store.put(b"second")
    assert other.name != info.name and other.name.endswith(".bin")
    assert store.list() == sorted([info.name, other.name])


def test_delete_frees_bytes_once_and_missing_files_are_not_found(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    info = store.put(PAYLOAD)
    store.open(info.name, info.sha256)  # cached
    assert store.delete(info.name) == len(PAYLOAD)
    assert store.delete(info.name) == 0
    assert not store.exists(info.name) and store.list() == []
    with pytest.raises(NotFoundError):
        store.open(info.name, info.sha256)  # not served from the cache either
    with pytest.raises(NotFoundError):
        store.size(info.name)


@pytest.mark.parametrize("compress", [False, True])
def test_a_tampered_file_is_refused(tmp_path: Path, compress: bool) -> None:
    store = FilesystemArtifactStore(tmp_path, compress=compress)
    info = store.put(PAYLOAD)
    assert store.open(info.name, info.sha256) == PAYLOAD  # now in the cache
    tamper(tmp_path / info.name)
    with pytest.raises(ArtifactIntegrityError):
        store.open(info.name, info.sha256)
    with pytest.raises(ArtifactIntegrityError):
        FilesystemArtifactStore(tmp_path).open(info.name, info.sha256)


def test_a_wrong_record_is_refused(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    info = store.put(PAYLOAD)
    with pytest.raises(ArtifactIntegrityError, match="does not match"):
        store.open(info.name, sha(b"something else"))


@pytest.mark.parametrize(
    "name",
    [
        "../outside.bin",
        "/etc/passwd",
        "ab/../../../etc/passwd",
        "ab/ab" + "0" * 30 + "/../x",
        "cd/ab" + "0" * 30 + ".bin",  # shard does not match the name
        "ab/ab" + "0" * 30 + ".BIN",
        "ab\\ab" + "0" * 30,
        "",
    ],
)
def test_names_that_are_not_generated_are_refused(tmp_path: Path, name: str) -> None:
    store = FilesystemArtifactStore(tmp_path / "root")
    for call in (store.exists, store.delete, store.size, store.sha256):
        with pytest.raises(StorageError, match="invalid artifact name"):
            call(name)
    with pytest.raises(StorageError):
        store.open(name, "0" * 64)


HEX = "0123456789abcdef"
near_valid = st.builds(
    lambda shard, rest, tail: f"{shard}/{shard}{rest}{tail}",
    st.text(alphabet=HEX, min_size=2, max_size=2),
    st.text(alphabet=HEX, min_size=29, max_size=31),
    st.text(alphabet=HEX + "./\\~", max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet=HEX + "./\\~_-: ", max_size=60), near_valid))
def test_no_name_resolves_outside_the_root(name: str) -> None:
    root = Path("/nonexistent-regimeforge-root/artifacts")  # path_of never touches the disk
    store = FilesystemArtifactStore(root)
    try:
        path = store.path_of(name)
    except StorageError:
        return
    assert path.parent.parent == root and path.name == name.split("/")[1]


def test_invalid_suffix_is_refused(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    for suffix in ("/../x", ".a/b", "bin", ".toolongsuffix12345"):
        with pytest.raises(StorageError, match="suffix"):
            store.put(b"x", suffix=suffix)
    assert store.put(b"x", suffix="").name.count(".") == 0


def test_compressed_store_writes_gzip_and_keeps_the_content_hash(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path, compress=True)
    info = store.put(PAYLOAD)
    raw = (tmp_path / info.name).read_bytes()
    assert raw[:2] == b"\x1f\x8b" and gzip.decompress(raw) == PAYLOAD
    assert info.sha256 == sha(PAYLOAD) and info.size_bytes == len(raw) < len(PAYLOAD)
    assert FilesystemArtifactStore(tmp_path).open(info.name, info.sha256) == PAYLOAD


def test_compress_rewrites_an_existing_file_and_its_record_stays_valid(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    info = store.put(PAYLOAD)
    assert store.open(info.name, info.sha256) == PAYLOAD
    packed = store.compress(info.name)
    assert packed.name == info.name and packed.sha256 == info.sha256
    assert packed.size_bytes == store.size(info.name) < info.size_bytes
    assert store.open(info.name, info.sha256) == PAYLOAD
    assert store.compress(info.name) == packed  # already compressed: unchanged


def test_content_that_looks_like_gzip_round_trips_uncompressed_store(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path, compress=False)
    tricky = b"\x1f\x8b not really gzip"
    info = store.put(tricky)
    assert store.open(info.name, info.sha256) == tricky


def test_corrupt_gzip_is_an_integrity_error(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path, compress=True)
    info = store.put(PAYLOAD)
    path = tmp_path / info.name
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ArtifactIntegrityError, match="gzip"):
        store.open(info.name, info.sha256)


def test_writes_leave_no_temporary_file_and_a_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FilesystemArtifactStore(tmp_path)
    info = store.put(PAYLOAD)
    assert [p.name for p in (tmp_path / info.name).parent.iterdir()] == [info.name[3:]]

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put(b"never written")
    monkeypatch.undo()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [tmp_path / info.name] and store.list() == [info.name]


def test_unfinished_temporary_files_are_not_listed(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    info = store.put(PAYLOAD)
    (tmp_path / (info.name + ".tmp-123")).write_bytes(b"partial")
    (tmp_path / "notes.txt").write_text("not an artifact")
    assert store.list() == [info.name]


def test_the_cache_is_bounded_and_least_recently_used(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path, cache_mb=1)
    blobs = [bytes([i]) * 400_000 for i in range(3)]
    infos = [store.put(b) for b in blobs]
    for info in infos:
        store.open(info.name, info.sha256)
    assert store.cached_bytes <= 1024 * 1024
    assert store.cached_names() == [infos[1].name, infos[2].name]
    store.open(infos[1].name, infos[1].sha256)  # a hit moves it to the end
    store.open(infos[0].name, infos[0].sha256)
    assert store.cached_names() == [infos[1].name, infos[0].name]
    too_big = store.put(b"x" * (2 * 1024 * 1024))
    store.open(too_big.name, too_big.sha256)
    assert too_big.name not in store.cached_names()
    uncached = FilesystemArtifactStore(tmp_path, cache_mb=0)
    assert uncached.open(infos[0].name, infos[0].sha256) == blobs[0]
    assert uncached.cached_bytes == 0
