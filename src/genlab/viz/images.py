"""Image grids as PNG with pillow only (fast; no matplotlib needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["image_grid", "image_grid_png", "save_image_grid"]


def image_grid(
    images: np.ndarray, *, nrow: int | None = None, pad: int = 1, pad_value: float = 0.5
) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one (H', W', C) uint8 array, images in row-major order (clipped to [0, 1])."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {x.shape}")
    n, c, h, w = x.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol_rows = math.ceil(n / nrow)
    grid = np.full((c, ncol_rows * (h + pad) + pad, nrow * (w + pad) + pad), pad_value, np.float32)
    for i in range(n):
        r, k = divmod(i, nrow)
        grid[
            :, pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w
        ] = x[i]
    return (np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)


def image_grid_png(
    images: np.ndarray,
    *,
    nrow: int | None = None,
    scale: int | None = None,
    row_labels: list[str] | None = None,
) -> bytes:
    """A PNG (bytes) of the grid; small images are upscaled (nearest) so an 8x8 digit is still visible.
    `row_labels`: one text per grid row (e.g. class names), written in a margin left of the rows."""
    import io

    from PIL import Image

    grid = image_grid(images, nrow=nrow)
    if scale is None:
        scale = max(1, 256 // max(grid.shape[:2]) + 1) if max(grid.shape[:2]) < 256 else 1
        scale = max(scale, max(1, 64 // np.asarray(images).shape[-1]))
    img = Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    if row_labels:
        img = _label_rows(img, [str(t) for t in row_labels], np.asarray(images).shape[-2] + 1, scale)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _label_rows(img, labels: list[str], row_px: int, scale: int):  # PIL image -> PIL image
    """The grid with a left margin holding each row's label, vertically centred on its row (1-px pad)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    draw = ImageDraw.Draw(img)
    width = max(int(draw.textlength(t, font=font)) for t in labels) + 8
    mode = "RGB" if img.mode == "RGB" else "L"
    out = Image.new(mode, (img.width + width, img.height), (255, 255, 255) if mode == "RGB" else 255)
    out.paste(img, (width, 0))
    draw = ImageDraw.Draw(out)
    for r, text in enumerate(labels):
        y = (1 + r * row_px + row_px / 2) * scale
        draw.text((4, y), text, fill=(0, 0, 0) if mode == "RGB" else 0, font=font, anchor="lm")
    return out


def save_image_grid(
    images: np.ndarray,
    path: str | Path,
    *,
    nrow: int | None = None,
    scale: int | None = None,
    row_labels: list[str] | None = None,
) -> Path:
    """Write a PNG grid (see `image_grid_png`)."""
    from genlab.fileio import atomic_write

    atomic_write(path, image_grid_png(images, nrow=nrow, scale=scale, row_labels=row_labels))
    return Path(path)
