"""Checkpoint loading under torch's weights_only default, and one-line errors."""
from __future__ import annotations

import importlib.util
import os
import pickle
import shlex
import zipfile
from pathlib import Path

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmselfsup_ext.utils import (
    CheckpointError,
    check_state_dict_fits,
    load_checkpoint_file,
    load_model_weights,
    state_dict_from_checkpoint,
)


class _Toy(BaseModel):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.lin = nn.Linear(width, 1)
        self.bn = nn.BatchNorm1d(1)

    def forward(self, inputs, data_samples=None, mode="loss"):
        x = torch.stack(list(inputs)).float()
        return {"loss": self.bn(self.lin(x)).pow(2).mean()}


class _Data(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> dict:
        return {"inputs": torch.arange(3.0) * i}


@pytest.fixture(scope="module")
def runner_checkpoint(tmp_path_factory):
    """A checkpoint written by mmengine's Runner (message hub, schedulers, optimizer)."""
    work_dir = tmp_path_factory.mktemp("toy")
    runner = Runner(
        model=_Toy(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=_Data(), sampler=dict(type="DefaultSampler", shuffle=True), batch_size=4),
        optim_wrapper=dict(optimizer=dict(type="AdamW", lr=0.01)),
        param_scheduler=[dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=2)],
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=4, by_epoch=False)),
        randomness=dict(seed=0),
    )
    runner.train()
    return work_dir / "iter_4.pth", runner.model


def test_runner_checkpoint_loads_with_weights_only(runner_checkpoint):
    path, model = runner_checkpoint
    ckpt = load_checkpoint_file(path)
    assert ckpt["meta"]["iter"] == 4
    assert isinstance(ckpt["message_hub"]["log_scalars"]["train/loss"], HistoryBuffer)
    for key, value in model.state_dict().items():
        assert torch.equal(ckpt["state_dict"][key], value)
    # The default torch.load (what mmengine's Runner.resume calls) now works too.
    assert torch.load(path)["meta"]["iter"] == 4


def test_history_buffer_statistics_survive(runner_checkpoint):
    buffer = load_checkpoint_file(runner_checkpoint[0])["message_hub"]["log_scalars"]["train/loss"]
    values = buffer.data[0]
    assert buffer.mean() == pytest.approx(values.mean())
    assert buffer.statistics("min") == pytest.approx(values.min())


class _Sneaky:
    """Pickles to getattr(HistoryBuffer, '__init__'), which is not a statistics method."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, "__init__")


def test_getattr_is_restricted_to_history_buffer_statistics(tmp_path):
    path = tmp_path / "sneaky.pth"
    torch.save({"x": _Sneaky()}, path)
    with pytest.raises(CheckpointError, match="cannot be loaded safely") as info:
        load_checkpoint_file(path)
    assert "\n" not in str(info.value)


def test_arbitrary_objects_stay_refused(tmp_path):
    path = tmp_path / "module.pth"
    torch.save({"model": nn.Linear(2, 2)}, path)  # a pickled module, not a state dict
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        load_checkpoint_file(path)


def test_missing_corrupt_truncated_and_non_dict_files(tmp_path, runner_checkpoint):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint_file(tmp_path / "nope.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"definitely not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint_file(garbage)
    truncated = tmp_path / "truncated.pth"
    data = runner_checkpoint[0].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint_file(truncated)
    # Found by benchmarks/fuzz_readers.py: a legacy-format file whose persistent id is
    # not a tuple made torch raise AssertionError.
    legacy = tmp_path / "legacy.pth"

    class IntPersistentIds(pickle.Pickler):
        def persistent_id(self, obj):
            return 7 if obj == "x" else None

    with legacy.open("wb") as fh:
        for header in (0x1950A86A20F9469CFC6C, 1001,
                       dict(protocol_version=1001, little_endian=True,
                            type_sizes=dict(short=2, int=4, long=4))):
            pickle.dump(header, fh, protocol=2)
        IntPersistentIds(fh, protocol=2).dump({"a": "x"})
    with pytest.raises(CheckpointError, match="saved_id must be a tuple"):
        load_checkpoint_file(legacy)
    listed = tmp_path / "list.pth"
    torch.save([1, 2], listed)
    with pytest.raises(CheckpointError, match="holds a list"):
        load_checkpoint_file(listed)
    assert str(CheckpointError("line one\nline two")) == "line one line two"


def test_state_dict_from_checkpoint_layouts():
    weights = {"a.weight": torch.ones(2)}
    assert state_dict_from_checkpoint({"state_dict": weights, "meta": {}}) == weights
    assert state_dict_from_checkpoint(weights) == weights
    assert state_dict_from_checkpoint({"module.a.weight": torch.ones(2)}).keys() == {"a.weight"}
    with pytest.raises(CheckpointError, match="no model state_dict"):
        state_dict_from_checkpoint({"meta": {"epoch": 1}})


def test_wrong_model_is_reported_in_one_line():
    model = _Toy(width=3)
    other = _Toy(width=5).state_dict()
    other["extra.weight"] = torch.zeros(1)
    del other["bn.bias"]
    with pytest.raises(CheckpointError) as info:
        check_state_dict_fits(model, other, "checkpoint 'x.pth'")
    message = str(info.value)
    assert "1 missing (e.g. 'bn.bias')" in message
    assert "1 unexpected (e.g. 'extra.weight')" in message
    assert "1 with another shape (e.g. 'lin.weight': (1, 5) vs (1, 3))" in message
    assert "\n" not in message
    check_state_dict_fits(model, _Toy(width=3).state_dict())  # a fitting one passes


def test_load_model_weights_round_trip(runner_checkpoint, tmp_path):
    path, trained = runner_checkpoint
    fresh = _Toy()
    assert not torch.equal(fresh.lin.weight, trained.lin.weight)
    load_model_weights(fresh, path)
    assert torch.equal(fresh.lin.weight, trained.lin.weight)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_model_weights(_Toy(width=4), path)


def test_unpickling_error_type_is_what_torch_raises(tmp_path):
    # Guards the except clause of load_checkpoint_file against a torch API change.
    path = tmp_path / "sneaky.pth"
    torch.save({"x": _Sneaky()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


# ------------------------------------------- malicious checkpoints (issue 13 item 4)
REPO = Path(__file__).resolve().parents[1]
HASHCLR_CPU = REPO / "configs/selfsup/simclr/simclr_swin_nano_fpn_1xb8_coslr_2e.py"
MIM_CPU = REPO / "configs/selfsup/simmim/simmim_swin_nano_fpn_1xb8-coslr-2e.py"


class _ShellTouch:
    """Unpickles by running ``touch MARKER`` in a shell, as a malicious checkpoint would."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


class _PathTouch(_ShellTouch):
    """Unpickles by calling ``pathlib.Path(MARKER).touch()``: no shell, a plain method."""

    def __reduce__(self):
        return Path.touch, (Path(self.marker),)


def _torch_zip(path: Path, payload: dict) -> None:
    torch.save(payload, path)


def _torch_zip_protocol4(path: Path, payload: dict) -> None:
    # Protocol 4 names Path.touch directly (STACK_GLOBAL) instead of via getattr.
    torch.save(payload, path, pickle_protocol=4)


def _plain_pickle(path: Path, payload: dict) -> None:
    # Not a torch zip: torch.load takes its legacy path, which unpickles the file at once.
    path.write_bytes(pickle.dumps(payload, protocol=2))


def _unsafe_load(path: Path) -> None:
    """What weights_only=False or a bare pickle.load would do with the file."""
    if zipfile.is_zipfile(path):
        torch.load(path, weights_only=False)
    else:
        pickle.loads(path.read_bytes())


@pytest.fixture(params=[(p, w) for p in (_ShellTouch, _PathTouch)
                        for w in (_torch_zip, _torch_zip_protocol4, _plain_pickle)],
                ids=lambda pw: f"{pw[0].__name__.strip('_')}-{pw[1].__name__.strip('_')}")
def malicious(request, tmp_path) -> tuple[Path, Path]:
    """``(checkpoint, marker)``: loading the checkpoint unsafely would create ``marker``.

    The same payload is first shown to create its file when unpickled unsafely, so a
    test that finds no marker proves the loader refused it, not that it was harmless.
    """
    payload_type, write = request.param
    probe, probe_marker = tmp_path / "probe.pth", tmp_path / "probe_marker"
    write(probe, {"meta": payload_type(probe_marker)})
    _unsafe_load(probe)
    assert probe_marker.is_file(), "the payload is not malicious; the test would prove nothing"

    checkpoint, marker = tmp_path / "evil.pth", tmp_path / "pwned"
    write(checkpoint, {"meta": payload_type(marker), "state_dict": {"lin.weight": torch.zeros(1, 3)}})
    return checkpoint, marker


def _assert_clean_refusal(message: str, checkpoint: Path) -> None:
    assert "\n" not in message.strip() and "Traceback" not in message, message
    assert str(checkpoint) in message
    # Refused as unsafe, or (protocol 4, which torch's safe unpickler cannot parse) as unreadable.
    assert "cannot be loaded safely" in message or "not a readable PyTorch checkpoint" in message
    # Never the advice to retry with weights_only=False, which would run the payload.
    assert "weights_only" not in message, message


def test_malicious_checkpoint_is_refused_by_every_library_loader(malicious):
    from mmselfsup_ext.apis import init_model
    from mmselfsup_ext.models.algorithms import load_backbone_weights

    checkpoint, marker = malicious
    loaders = {
        "load_checkpoint_file": lambda: load_checkpoint_file(checkpoint),
        "load_model_weights": lambda: load_model_weights(_Toy(), checkpoint),
        "load_backbone_weights": lambda: load_backbone_weights(nn.Linear(3, 1), checkpoint),
        "init_model(checkpoint only)": lambda: init_model(None, checkpoint, device="cpu"),
    }
    for name, load in loaders.items():
        with pytest.raises(CheckpointError) as info:
            load()
        _assert_clean_refusal(str(info.value), checkpoint)
        assert not marker.exists(), f"{name} ran the checkpoint's code"


def test_malicious_checkpoint_named_global_in_the_error(tmp_path):
    # The cause (the refused global), not torch's generic preamble, makes the one line.
    checkpoint = tmp_path / "evil.pth"
    torch.save({"meta": _ShellTouch(tmp_path / "pwned")}, checkpoint)
    with pytest.raises(CheckpointError, match="cannot be loaded safely") as info:
        load_checkpoint_file(checkpoint)
    assert f"{os.system.__module__}.system" in str(info.value)
    assert not (tmp_path / "pwned").exists()


def _load_script(path: Path):
    spec = importlib.util.spec_from_file_location(f"loaded_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_malicious_checkpoint_is_refused_by_every_entry_point(tmp_path, capsys, concrete_left):
    """init_model with a config, the deep dedup CLI, publish_model.py and train.py --resume."""
    from mmselfsup_ext.apis import init_model

    checkpoint, marker = tmp_path / "evil.pth", tmp_path / "pwned"
    torch.save({"meta": _ShellTouch(marker), "state_dict": {"w": torch.zeros(1)}}, checkpoint)
    images = tmp_path / "images"
    images.mkdir()
    concrete_left.crop((0, 0, 140, 140)).save(images / "a.jpg")

    with pytest.raises(CheckpointError) as info:
        init_model(HASHCLR_CPU, checkpoint, device="cpu")
    _assert_clean_refusal(str(info.value), checkpoint)
    assert not marker.exists()

    def one_error_line(status: int) -> str:
        assert status == 2
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        return lines[0]

    deep = _load_script(REPO / "SwinFpnHashCLR_deduplication.py")
    status = deep.main(["--checkpoint", str(checkpoint), str(images), "--out", str(tmp_path / "out"),
                        "--no-progress", "--no-report", "--no-cache", "--device", "cpu"])
    _assert_clean_refusal(one_error_line(status), checkpoint)
    assert not marker.exists()

    publish = _load_script(REPO / "tools" / "publish_model.py")
    with pytest.raises(SystemExit) as exit_info:
        publish.main([str(checkpoint), str(tmp_path / "published")])
    _assert_clean_refusal(one_error_line(exit_info.value.code), checkpoint)
    assert not marker.exists() and not (tmp_path / "published.pth").exists()

    train = _load_script(REPO / "tools" / "train.py")
    status = train.main([str(MIM_CPU), "--work-dir", str(tmp_path / "work"), "--resume", str(checkpoint),
                         "--cfg-options", f"train_dataloader.dataset.data_root={images}"])
    _assert_clean_refusal(one_error_line(status), checkpoint)
    assert not marker.exists()
