"""Memory bounded per image: feature rows on disk (``DiskRows``), the index grown and saved
a batch at a time, give what the in-memory code gave."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmselfsup_ext.dedup import deduplicate_folder, pipeline, retrieval
from mmselfsup_ext.dedup.cache import CachedEncoder
from mmselfsup_ext.dedup.encoders import ClassicalEncoder
from mmselfsup_ext.dedup.retrieval import DescriptorIndex
from mmselfsup_ext.dedup.row_file import DiskRows
from mmselfsup_ext.dedup.verify import FeatureEncoder, FeatureStore
from mmselfsup_ext.evaluation import procedural_concrete, simulate_flight


def test_disk_rows_behave_as_the_array_they_replace(tmp_path):
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (37, 11), dtype=np.uint8)
    rows = DiskRows(*reference.shape, tmp_path)
    for k in rng.permutation(len(reference)):
        rows[int(k)] = reference[k]
    assert rows.shape == reference.shape and len(rows) == len(reference)
    assert all(np.array_equal(rows[k], reference[k]) for k in range(len(reference)))
    picks = np.array([5, 6, 7, 30, 2])
    assert np.array_equal(rows[picks], reference[picks])
    assert np.array_equal(np.stack(list(rows)), reference)
    assert np.array_equal(rows.prefix(4), reference[:, :4])
    view = rows.view(np.array([3, 3, 0]))
    assert np.array_equal(np.stack(list(view)), reference[[3, 3, 0]])
    assert np.array_equal(view.prefix(2), reference[[3, 3, 0], :2])
    # The file has no name: nothing is left in the folder, even while it is in use.
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="11 bytes"):
        rows[0] = np.zeros(3, np.uint8)
    with pytest.raises(IndexError):
        rows.view(np.array([37]))
    with pytest.raises(TypeError):
        rows[1:3]


def test_blocks_cover_every_row_in_order(tmp_path, monkeypatch):
    from mmselfsup_ext.dedup import row_file
    monkeypatch.setattr(row_file, "_BLOCK_BYTES", 30)  # 3 rows of 10 bytes per block
    reference = np.arange(70, dtype=np.uint8).reshape(7, 10)
    rows = DiskRows(7, 10, tmp_path)
    for k, row in enumerate(reference):
        rows[k] = row
    assert [len(b) for b in rows.blocks()] == [3, 3, 1]
    assert np.array_equal(np.concatenate(list(rows.blocks())), reference)


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    """Two strips of eight shots, plus one file that is not an image."""
    out = tmp_path_factory.mktemp("rows") / "flight"
    made = simulate_flight(procedural_concrete(800, 500, seed=3), out, strips=2,
                           shots_per_strip=8, shot_size=(256, 205), seed=2)
    (Path(made.images_dir) / "shot_broken.jpg").write_bytes(b"not a jpeg")
    return made


def test_cached_encoder_spills_the_same_rows(flight, tmp_path):
    paths = sorted(Path(flight.images_dir).iterdir())
    encoder = FeatureEncoder(max_side=256, n_features=200)
    in_memory = CachedEncoder(encoder, tmp_path / "a").encode(paths, progress=False)
    for cache in ("a", "b"):  # read back from the cache, then freshly extracted
        spilled = CachedEncoder(encoder, tmp_path / cache, spill_bytes=0).encode(
            paths, progress=False)
        rows = spilled.codes[FeatureEncoder.TAG]
        assert isinstance(rows, DiskRows)
        assert spilled.ok_paths == in_memory.ok_paths and len(spilled.unreadable) == 1
        assert np.array_equal(np.stack(list(rows)), in_memory.codes[FeatureEncoder.TAG])
        store = FeatureStore.from_encoding(spilled, paths, encoder)
        reference = FeatureStore.from_encoding(in_memory, paths, encoder)
        assert np.array_equal(store.present, reference.present) and not store.present.all()
        assert np.array_equal(store.content_keys(), reference.content_keys())
        assert np.array_equal(store.original_sizes(), reference.original_sizes())
        assert np.array_equal(store.n_keypoints(), reference.n_keypoints())


def test_a_hash_encoder_is_never_spilled(flight, tmp_path):
    paths = sorted(Path(flight.images_dir).iterdir())
    result = CachedEncoder(ClassicalEncoder(["phash"]), tmp_path).encode(paths, progress=False)
    assert isinstance(result.codes["phash64"], np.ndarray)


def _outputs(out: Path) -> dict[str, bytes]:
    """Every tag's codes, pairs, keep and remove lists (summaries hold timings)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.glob("*/*"))
            if p.is_file() and p.suffix in (".csv", ".txt")}


def test_a_run_with_rows_on_disk_writes_the_same_outputs(flight, tmp_path, monkeypatch):
    kinds = []
    original = FeatureStore.from_encoding.__func__

    def record(cls, result, paths, encoder):
        store = original(cls, result, paths, encoder)
        kinds.append(type(store.rows))
        return store

    monkeypatch.setattr(FeatureStore, "from_encoding", classmethod(record))
    runs = {}
    for name, spill in (("memory", 1 << 40), ("disk", 0)):
        monkeypatch.setattr(pipeline, "SPILL_BYTES", spill)
        out = tmp_path / name
        deduplicate_folder(flight.images_dir, ClassicalEncoder(["phash"]), out, pairing="all",
                           verify=True, workers=2, cache_dir=tmp_path / f"{name}-cache",
                           progress=False, html_report=False)
        runs[name] = _outputs(out)
    assert kinds == [np.ndarray, DiskRows]
    assert runs["memory"] == runs["disk"]
    assert {"phash64/pairs.csv", "phash64/remove.txt"} <= set(runs["disk"])


def _images(n: int, per_image: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (per_image, 32), dtype=np.uint8) for _ in range(n)]


def test_grow_in_batches_builds_the_index_built_at_once(monkeypatch):
    monkeypatch.setattr(retrieval, "EXACT_MAX", 1000)
    images = _images(30, 120, seed=5)
    ids = np.arange(30)
    rows = np.concatenate(images)
    nlist = retrieval._nlist_for(len(rows))
    # The reference: every descriptor stacked, sampled and added in one call.
    centres = retrieval._content_sample(rows, nlist)
    reference = retrieval.faiss.IndexBinaryIVF(retrieval._coarse_quantizer(centres, 256), 256,
                                               nlist)
    reference.is_trained = True
    reference.add_with_ids(rows, retrieval._stack(ids, images)[0])
    monkeypatch.setattr(retrieval, "_QUERY_BATCH", 500)  # 7 batches of whole images
    assert np.array_equal(retrieval._streamed_sample(retrieval._stacked_batches(ids, images),
                                                     nlist), centres)
    index = DescriptorIndex()
    assert index.grow(ids, images) and index.nlist == nlist
    reference.nprobe = index.index.nprobe
    assert np.array_equal(index.serialize(), retrieval.faiss.serialize_index_binary(reference))
    # Grown before the new images are added or after: the same index.
    late = DescriptorIndex()
    late.add(ids, images)
    assert late.grow(ids, images)
    assert np.array_equal(late.serialize(), index.serialize())
    with pytest.raises(ValueError, match="every indexed image"):
        late.grow(ids[:3], images[:3])


def test_state_file_holds_the_index_np_savez_would(tmp_path, monkeypatch):
    from mmselfsup_ext.dedup import state as state_module
    monkeypatch.setattr(retrieval, "EXACT_MAX", 1000)
    index = DescriptorIndex()
    images = _images(12, 150, seed=9)
    assert index.grow(np.arange(12), images)
    pieces = state_module._IndexBytes(index)
    arrays = {"index": pieces, "votes": np.arange(5), "homography": np.eye(3)[None]}
    state_module._write_npz(tmp_path / "mine.npz", arrays)
    np.savez(tmp_path / "numpy.npz", **{**arrays, "index": index.serialize()})
    with np.load(tmp_path / "mine.npz") as mine, np.load(tmp_path / "numpy.npz") as reference:
        assert sorted(mine.files) == sorted(reference.files)
        for name in reference.files:
            assert np.array_equal(mine[name], reference[name]) and \
                mine[name].dtype == reference[name].dtype
    plain = {**arrays, "index": index.serialize()}
    assert state_module._content_digest(arrays) == state_module._content_digest(plain)
