"""``FilesystemArtifactStore.list`` never follows symbolic links; ``is_compressed``."""

from __future__ import annotations

from pathlib import Path

from regimeforge.adapters.artifacts import FilesystemArtifactStore


def test_links_to_files_or_shards_outside_the_root_are_never_listed(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path / "root")
    kept = store.put(b"model", suffix=".model")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ("ab" + "0" * 30 + ".model")).write_bytes(b"not ours")
    (store.root / "ab").symlink_to(outside, target_is_directory=True)
    (store.root / "cd").mkdir()
    (store.root / "cd" / ("cd" + "1" * 30 + ".model")).symlink_to(
        outside / ("ab" + "0" * 30 + ".model")
    )
    assert store.list() == [kept.name]


def test_is_compressed_follows_compress(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    info = store.put(b"payload " * 100)
    assert not store.is_compressed(info.name)
    store.compress(info.name)
    assert store.is_compressed(info.name) and store.open(info.name, info.sha256)
