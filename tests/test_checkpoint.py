"""Checkpoint loading under torch's weights_only default, and one-line errors."""
from __future__ import annotations

import pickle

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
