"""The authors' interleaved layout of the 32/64/96/128-bit codes inside one projection."""
import torch


def code_layout(n_dims: int = 320, chunk: int = 10) -> dict[int, torch.Tensor]:
    """Indices of each code length inside an ``n_dims``-dimensional projection.

    The projection is read as ``n_dims // chunk`` consecutive chunks. Within every chunk
    the positions are split into consecutive groups of 1, 2, 3, ... positions (so
    ``chunk`` must be a triangular number); group ``m`` of every chunk forms the code of
    ``(m + 1) * n_chunks`` bits. For the paper (320 dims, chunks of 10) position 0 of each
    chunk gives the 32-bit code, 1-2 the 64-bit, 3-5 the 96-bit and 6-9 the 128-bit code:
    four disjoint codes from one forward pass, each drawing evenly on the whole projection.

    Parameters
    ----------
    n_dims : int
        Output dimension of the projection (320 in the paper).
    chunk : int
        Chunk length; must be a triangular number (1, 3, 6, 10, ...) dividing ``n_dims``.

    Returns
    -------
    dict[int, torch.Tensor]
        Code length in bits -> int64 indices into the projection, chunk-major
        (all positions of chunk 0 first, then chunk 1, ...), ascending code length.

    Examples
    --------
    >>> layout = code_layout(320, 10)
    >>> sorted(layout)
    [32, 64, 96, 128]
    >>> layout[64][:4].tolist()
    [1, 2, 11, 12]
    """
    if chunk < 1 or n_dims < 1 or n_dims % chunk:
        raise ValueError(f"n_dims must be a positive multiple of chunk, got n_dims={n_dims}, chunk={chunk}")
    n_groups = 0
    while n_groups * (n_groups + 1) // 2 < chunk:
        n_groups += 1
    if n_groups * (n_groups + 1) // 2 != chunk:
        raise ValueError(f"chunk must be a triangular number (1, 3, 6, 10, ...), got {chunk}")
    n_chunks = n_dims // chunk
    starts = torch.arange(n_chunks).unsqueeze(1) * chunk
    layout = {}
    first = 0
    for size in range(1, n_groups + 1):
        positions = torch.arange(first, first + size).unsqueeze(0)
        layout[size * n_chunks] = (starts + positions).reshape(-1)
        first += size
    return layout
