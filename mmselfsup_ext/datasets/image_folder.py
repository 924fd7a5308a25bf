"""Unlabeled, recursive image-folder dataset for self-supervised training."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from mmengine.dataset import BaseDataset

from mmselfsup_ext.fileio.discover import IMAGE_EXTENSIONS, discover_images
from mmselfsup_ext.registry import DATASETS, TRANSFORMS

__all__ = ["EmptyDatasetError", "ImageFolderDataset"]


class EmptyDatasetError(ValueError):
    """``data_root`` is missing or holds no image with an accepted extension."""


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """Every image under ``data_root`` (recursively), in natural (capture) order.

    There are no labels: a sample is ``{"img_path": str}`` before the pipeline. The
    pipeline's first step is normally :class:`~mmselfsup_ext.datasets.transforms.LoadImage`,
    which returns ``None`` for an unreadable file; the base class then draws another
    index, so a damaged photo is skipped with a warning instead of stopping training.

    Parameters
    ----------
    data_root : str
        Folder of training images, searched recursively (symlinked folders are entered
        once, so link loops terminate).
    pipeline : sequence of dict or callable
        Transforms applied to each sample; dicts are built from this package's
        ``TRANSFORMS`` registry, so no default scope has to be set.
    extensions : sequence of str
        Accepted file suffixes, case-insensitive.
    **kwargs
        Passed on to :class:`mmengine.dataset.BaseDataset` (``lazy_init``,
        ``indices``, ``serialize_data``, ``max_refetch``, ...).

    Raises
    ------
    EmptyDatasetError
        On full initialisation, if ``data_root`` is not a folder or holds no image.

    Examples
    --------
    >>> ds = ImageFolderDataset("photos/", pipeline=[dict(type="LoadImage")])  # doctest: +SKIP
    >>> ds[0]["img"].shape  # doctest: +SKIP
    torch.Size([3, 2048, 2592])
    """

    METAINFO: dict = dict(task="unlabeled images")

    def __init__(
        self,
        data_root: str,
        pipeline: Sequence[dict | Callable] = (),
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        **kwargs,
    ) -> None:
        if not data_root:
            raise ValueError(
                "ImageFolderDataset needs data_root, the folder of training images "
                "(set train_dataloader.dataset.data_root)"
            )
        if isinstance(extensions, str) or not extensions:
            raise ValueError(f"extensions must be a non-empty sequence of suffixes, got {extensions!r}")
        self.extensions = tuple(extensions)
        built = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        super().__init__(data_root=str(data_root), pipeline=built, **kwargs)

    def load_data_list(self) -> list[dict]:
        """List the images under ``data_root``.

        Returns
        -------
        list of dict
            ``[{"img_path": str}, ...]`` in natural order of the relative paths.
        """
        root = Path(self.data_root)
        if not root.is_dir():
            raise EmptyDatasetError(f"data_root {str(root)!r} is not a folder")
        paths = discover_images(root, self.extensions)
        if not paths:
            raise EmptyDatasetError(
                f"no images ({', '.join(self.extensions)}) found under data_root {str(root)!r}"
            )
        return [dict(img_path=str(path)) for path in paths]
