"""Show what a SwinFpnMIM checkpoint reconstructs: a 4-panel figure for one image.

Panels: original, masked input, reconstruction, reconstruction with the visible
patches pasted back (only the masked area is predicted).

Examples
--------
::

    python tools/analysis_tools/visualize_reconstruction.py \
        configs/selfsup/simmim/simmim_swin_nano_fpn_1xb8-coslr-2e.py \
        --checkpoint work_dirs/simmim_swin_nano_fpn_1xb8-coslr-2e/epoch_2.pth \
        --img-path photo.jpg --out-file reconstruction.png --use-vis-pipeline

Without ``--use-vis-pipeline`` the image goes through the config's training pipeline
(random crop and flip, as training sees it); with it, the whole image is resized to the
model's input size. Either way the mask follows the config's SimMIMMaskGenerator.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or assumed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import Compose, pseudo_collate  # noqa: E402

from mmselfsup_ext.fileio.loading import UnreadableImageError, load_image  # noqa: E402
from mmselfsup_ext.engine import ConfigError, load_config, parse_cfg_options  # noqa: E402
from mmselfsup_ext.registry import MODELS, TRANSFORMS  # noqa: E402
from mmselfsup_ext.utils import CheckpointError, load_model_weights, register_all_modules  # noqa: E402

EXIT_BAD_INPUT = 2
PANEL_TITLES = ("original", "masked", "reconstruction", "reconstruction + visible")


def _mask_generator_cfg(cfg: Config) -> dict:
    """The SimMIMMaskGenerator entry of the training pipeline."""
    pipeline = cfg.get("train_dataloader", {}).get("dataset", {}).get("pipeline", [])
    for step in pipeline:
        if step.get("type") == "SimMIMMaskGenerator":
            return dict(step)
    raise ConfigError("the config's training pipeline has no SimMIMMaskGenerator: not a MIM config")


def build_pipeline(cfg: Config, use_vis_pipeline: bool, seed: int) -> Compose:
    """The training pipeline, or a deterministic resize + mask pipeline for visualisation."""
    mask_cfg = _mask_generator_cfg(cfg)
    mask_cfg["seed"] = seed
    if use_vis_pipeline:
        steps = [
            dict(type="LoadImage"),
            dict(type="Resize", size=mask_cfg.get("input_size", 256)),
            mask_cfg,
            dict(type="PackSelfSupInputs"),
        ]
    else:
        steps = [mask_cfg if step.get("type") == "SimMIMMaskGenerator" else dict(step)
                 for step in cfg.train_dataloader.dataset.pipeline]
    return Compose([TRANSFORMS.build(step) for step in steps])


def _to_uint8_hwc(images: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) on the 0-255 scale -> (H, W, 3) uint8."""
    return images[0].clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


@torch.no_grad()
def reconstruct_panels(model: torch.nn.Module, sample: dict) -> list[np.ndarray]:
    """The four panels (H, W, 3) uint8 for one packed sample.

    Parameters
    ----------
    model : torch.nn.Module
        A SwinFpnMIM (``reconstruct`` and a data preprocessor with ``denormalize``).
    sample : dict
        Output of ``PackSelfSupInputs`` with a mask.

    Returns
    -------
    list of numpy.ndarray
        Original, masked (masked patches black), reconstruction, and the original
        with its masked patches replaced by the reconstruction.
    """
    model.eval()
    data = model.data_preprocessor(pseudo_collate([sample]), False)
    images, mask = data["inputs"][0], data["data_samples"]["mask"]
    prediction = model.reconstruct(images, mask)
    scale = images.shape[-1] // mask.shape[-1]
    pixel_mask = mask.repeat_interleave(scale, 1).repeat_interleave(scale, 2).unsqueeze(1).to(images.dtype)
    original = model.data_preprocessor.denormalize(images)
    recon = model.data_preprocessor.denormalize(prediction)
    panels = [original, original * (1 - pixel_mask), recon, original * (1 - pixel_mask) + recon * pixel_mask]
    return [_to_uint8_hwc(p) for p in panels]


def save_figure(panels: list[np.ndarray], out_file: Path, title: str) -> None:
    """Write the panels side by side to ``out_file`` (format from its suffix)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for ax, panel, name in zip(axes, panels, PANEL_TITLES):
        ax.imshow(panel)
        ax.set_title(name)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Write the reconstruction figure; return the exit status."""
    parser = argparse.ArgumentParser(description="Visualise a SwinFpnMIM reconstruction.")
    parser.add_argument("config", help="the MIM config the checkpoint was trained with")
    parser.add_argument("--checkpoint", required=True, help="checkpoint file")
    parser.add_argument("--img-path", required=True, help="image to reconstruct")
    parser.add_argument("--out-file", required=True, help="figure to write (e.g. .png)")
    parser.add_argument("--use-vis-pipeline", action="store_true",
                        help="resize the whole image instead of the training crop/flip")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mask and of random augmentations")
    parser.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config entries")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, parse_cfg_options(args.cfg_options))
        register_all_modules()
        try:
            model = MODELS.build(cfg.model)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"cannot build the model: {type(exc).__name__}: {exc}") from None
        if not hasattr(model, "reconstruct"):
            raise ConfigError(f"{type(model).__name__} does not reconstruct images; use a SwinFpnMIM config")
        load_model_weights(model, args.checkpoint)
        load_image(args.img_path)  # one-line reason for an unreadable image
        torch.manual_seed(args.seed)
        sample = build_pipeline(cfg, args.use_vis_pipeline, args.seed)(dict(img_path=args.img_path, sample_idx=0))
        panels = reconstruct_panels(model, sample)
    except UnreadableImageError as exc:
        print(f"visualize_reconstruction.py: error: cannot read {args.img_path!r}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ConfigError, CheckpointError) as exc:
        print(f"visualize_reconstruction.py: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out_file = Path(args.out_file)
    save_figure(panels, out_file, f"{Path(args.img_path).name} - {Path(args.checkpoint).name}")
    print(f"wrote {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
