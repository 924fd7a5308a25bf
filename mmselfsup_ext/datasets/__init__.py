"""Datasets and transforms; importing the package registers them."""
from . import transforms
from .image_folder import EmptyDatasetError, ImageFolderDataset

__all__ = ["EmptyDatasetError", "ImageFolderDataset", "transforms"]
