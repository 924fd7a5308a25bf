"""Decorrelation of code bits: a remedy for dimensional collapse of contrastive projections."""
import torch

__all__ = ["decorrelation_loss"]


def decorrelation_loss(codes: torch.Tensor) -> torch.Tensor:
    """Mean squared off-diagonal correlation between the columns of ``codes`` (M, D).

    Contrastive projections collapse onto few directions (measured on the shipped global
    model: 7 principal components hold 90 % of the variance of its 320 outputs), so their
    sign bits repeat each other and unrelated images land at duplicate distances. This
    term asks every bit to carry its own information.
    """
    if codes.dim() != 2 or codes.shape[0] < 2 or codes.shape[1] < 2:
        raise ValueError(f"expected codes (M >= 2, D >= 2), got {tuple(codes.shape)}")
    centred = codes.float() - codes.float().mean(dim=0, keepdim=True)
    normed = centred / (centred.norm(dim=0, keepdim=True) + 1e-6)
    corr = normed.t() @ normed
    off = corr - torch.diag(torch.diagonal(corr))
    d = codes.shape[1]
    return off.pow(2).sum() / (d * (d - 1))
