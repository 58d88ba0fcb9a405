"""Turn the bytes of an uploaded image into a model input, or refuse them with a one-line reason.

An upload is untrusted input: it is only ever decoded in memory (never written to disk or executed),
only by the decoders of an allow-list of raster formats, and images whose declared size is too large
are refused before any pixel is decoded. The file name is never trusted: only the bytes are looked at.

Preprocessing imitates how the training sets were made, so that an encoding of a user's drawing
lands where the model expects digits: ink bright on a black background (as MNIST and the sklearn
digits), cropped to the strokes, fitted into a box keeping the aspect ratio and centred by mass.
Every intermediate is kept in ``PreprocessSteps`` so that the page can show what happened.

Colour models were trained on photos and renderings, not on ink: an upload to one gets photo
preprocessing instead (``preprocess_photo``: the centred square, resized, colour kept), the same
function that reads a folder of colour images for training (``photo_pixels``).
"""
from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES: int = 10 * 1024 * 1024
MAX_PIXELS: int = 40_000_000  # refuse decompression bombs before decoding
# Formats a user may upload: common raster formats with mature decoders. Image.open tries no other.
ALLOWED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
# Longest side the pixels are worked on: the model input is 28x28 at most, so a 40-megapixel photo
# is shrunk first (area-averaged, so thin strokes are kept) to bound memory per upload.
WORK_SIZE: int = 1024
# A stroke must stand out from the background by at least this fraction of the full range;
# anything fainter is paper texture, lighting or compression noise.
MIN_CONTRAST: float = 0.1
# Pixels brighter than this fraction of the strongest stroke count as ink when cropping.
INK_THRESHOLD: float = 0.1
# MNIST digits were fitted into a 20x20 box inside the 28x28 frame.
MNIST_SIZE: int = 28
MNIST_BOX: int = 20

NOT_AN_IMAGE = "This file is not an image we can read (PNG, JPEG, GIF, BMP, WebP or TIFF)."
DAMAGED = "The image file is truncated or damaged."
UNREADABLE = "This file could not be read as an image."
FULLY_TRANSPARENT = "The image is fully transparent: there is nothing to encode."
BLANK = "The image is blank: no strokes found."
WRONG_INK_SETTING = (
    "No strokes found with this ink colour setting: the strokes look darker than the background; "
    "try the other setting or automatic detection."
)
TOO_MANY_PIXELS = f"The image has too many pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels."

FloatImage = NDArray[np.float32]


class ImageInputError(ValueError):
    """A user-facing reason why an upload cannot be used (one line, no internals)."""


@dataclass(frozen=True, eq=False)
class PreprocessSteps:
    """Every stage from the upload to the model input, so the page can show the user what was done.

    All arrays except ``original`` are float32 in [0, 1], shape HxW, ink bright on dark (except
    ``grayscale``, which keeps the upload's polarity). The arrays are read-only because a result may be
    cached and shared by every session. ``eq=False``: comparing arrays element-wise is not equality.
    """

    original: NDArray[np.uint8]  # RGB HxWx3 after EXIF orientation and flattening transparency (for display)
    grayscale: FloatImage  # luminance, at most WORK_SIZE on the longest side
    inverted: bool  # whether we inverted (light background detected or forced)
    oriented: FloatImage  # after optional inversion: ink bright on dark
    cropped: FloatImage  # background removed, contrast stretched, cropped to the content's bounding box
    squared: FloatImage  # content fitted into the box (20x20 for MNIST) keeping aspect, padded to a square
    final: FloatImage  # model input size x size, centred by mass, strongest stroke = 1

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)


@dataclass(frozen=True, eq=False)
class PhotoSteps:
    """An upload to a colour model: the upload, its centred square, and the model input.

    ``original`` is RGB HxWx3 uint8 (for display); ``cropped`` and ``final`` are float32 in [0, 1],
    HxWx3 (``final`` is HxW for a one-channel model). Read-only, as ``PreprocessSteps``.
    """

    original: NDArray[np.uint8]
    cropped: FloatImage
    final: FloatImage

    def __post_init__(self) -> None:
        for field in fields(self):
            getattr(self, field.name).setflags(write=False)


@dataclass(frozen=True)
class BatchItem:
    """One uploaded file's outcome: exactly one of ``steps`` and ``error`` is set."""

    name: str
    steps: PreprocessSteps | PhotoSteps | None
    error: str | None


def open_image(data: bytes) -> Image.Image:
    """Decode an upload's first frame, upright, refusing anything that is not a safe raster image.

    Sizes are checked before decoding (the byte count, then the declared pixel count) so that a
    small file that would expand to gigabytes is refused without being decompressed.
    """
    if not data:
        raise ImageInputError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageInputError(
            f"The file is too large ({len(data) / 2**20:.1f} MB); the limit is {MAX_UPLOAD_BYTES // 2**20} MB."
        )
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice it; make that a refusal here only,
        # leaving Image.MAX_IMAGE_PIXELS and the global warning filters as they were.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        except UnidentifiedImageError as exc:
            raise ImageInputError(NOT_AN_IMAGE) from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageInputError(TOO_MANY_PIXELS) from exc
        except (OSError, SyntaxError, EOFError, ValueError) as exc:
            raise ImageInputError(DAMAGED) from exc
        with img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ImageInputError(
                    f"The image is too large ({width} x {height} pixels); "
                    f"the limit is {MAX_PIXELS // 1_000_000} megapixels."
                )
            img.draft(None, (WORK_SIZE, WORK_SIZE))  # JPEG: decode at 1/2..1/8 scale when still >= WORK_SIZE
            try:
                img.load()  # the first frame only, for animated GIF and WebP
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise ImageInputError(TOO_MANY_PIXELS) from exc
            except (OSError, SyntaxError, EOFError, ValueError) as exc:
                raise ImageInputError(DAMAGED) from exc
            return ImageOps.exif_transpose(img)  # a detached copy: phones store photos sideways + a tag


def to_grayscale(img: Image.Image) -> FloatImage:
    """Luminance in [0, 1] of any Pillow mode, transparency flattened so that the strokes stay visible.

    16- and 32-bit images are scaled by their real range, not clipped at 255. The result is shrunk
    to at most WORK_SIZE on the longest side.
    """
    return _luminance(_flatten(*_rgb_and_alpha(img)))


def preprocess(data: bytes, size: int = 28, invert: bool | None = None, mnist_style: bool = True) -> PreprocessSteps:
    """Make an upload look like the training images: ink bright on black, cropped, fitted, centred by mass.

    ``invert``: None detects the polarity (a light background, estimated from the border pixels, is
    inverted); True or False forces it. ``mnist_style`` with ``size == 28`` fits the content into a
    20x20 box centred by mass in 28x28, as MNIST was made; otherwise (the 8x8 sklearn digits,
    Fashion-MNIST) the content fills the frame but for a 1-pixel margin, centred by mass too.
    """
    box = _box_size(size, mnist_style)
    rgb = _flatten(*_rgb_and_alpha(open_image(data)))
    grayscale = _luminance(rgb)
    inverted = bool(_border_median(grayscale) > 0.5) if invert is None else invert
    oriented = 1.0 - grayscale if inverted else grayscale
    cropped = _crop_to_content(_levelled_ink(oriented, forced=invert is not None))
    height, width = cropped.shape
    fitted = _resize(cropped, _fit(width, height, box))
    return PreprocessSteps(
        original=np.round(rgb * 255).astype(np.uint8),
        grayscale=grayscale,
        inverted=inverted,
        oriented=oriented,
        cropped=cropped,
        squared=_pad_to_square(fitted, box),
        final=_place_by_mass(fitted, size, mnist_like=box == MNIST_BOX),
    )


def photo_pixels(img: Image.Image, size: int, channels: int = 3) -> FloatImage:
    """Any Pillow image as a model input: its centred square, resized to size x size, float in [0, 1].

    HxWx3 for ``channels == 3``, HxW luminance for 1. Palettes, CMYK, LAB and 16-bit images are
    converted by their real range and transparency is flattened, as for uploads.
    """
    return _photo_steps(_flatten(*_rgb_and_alpha(img)), size, channels)[1]


def preprocess_photo(data: bytes, size: int, channels: int = 3) -> PhotoSteps:
    """An upload to a colour model: decoded like any upload, then `photo_pixels`, steps kept."""
    rgb = _flatten(*_rgb_and_alpha(open_image(data)))
    cropped, final = _photo_steps(rgb, size, channels)
    return PhotoSteps(original=np.round(rgb * 255).astype(np.uint8), cropped=cropped, final=final)


def _photo_steps(rgb: FloatImage, size: int, channels: int) -> tuple[FloatImage, FloatImage]:
    """(centred square HxWx3, model input) of a flattened RGB image."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = np.ascontiguousarray(rgb[top : top + side, left : left + side])
    resized = np.stack([_resize(square[..., i], (size, size)) for i in range(3)], axis=-1)
    return square, np.clip(resized if channels == 3 else _luminance(resized), 0.0, 1.0).astype(np.float32)


def to_tensor(steps_or_array: PreprocessSteps | PhotoSteps | NDArray[np.floating]) -> torch.Tensor:
    """The model's input layout: (1, C, H, W) float32 in [0, 1] from an HxW or HxWx3 image."""
    array = steps_or_array if isinstance(steps_or_array, np.ndarray) else steps_or_array.final
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3):
        raise ValueError(f"expected an HxW or HxWx3 image array, got shape {array.shape}")
    chw = np.clip(array, 0.0, 1.0).astype(np.float32).transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(chw)).unsqueeze(0)


def preprocess_many(
    files: Iterable[tuple[str, bytes]], size: int, invert: bool | None = None, channels: int = 1,
) -> list[BatchItem]:
    """Preprocess each (name, bytes) upload on its own, so that one bad file never stops the others.

    A one-channel model gets digit preprocessing (`preprocess`), a colour model photo
    preprocessing (`preprocess_photo`; ``invert`` does not apply).
    """
    _box_size(size, mnist_style=True)  # a wrong size is the caller's bug, not a bad file: raise it
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    return [_preprocess_one(name, data, size, invert, channels) for name, data in files]


def _preprocess_one(name: str, data: bytes, size: int, invert: bool | None, channels: int) -> BatchItem:
    try:
        steps = preprocess(data, size=size, invert=invert) if channels == 1 else preprocess_photo(data, size, channels)
        return BatchItem(name=name, steps=steps, error=None)
    except ImageInputError as exc:
        return BatchItem(name=name, steps=None, error=str(exc))
    except Exception:  # a hostile file can make a decoder raise anything; the user gets one line, we the trace
        logger.warning("Upload %r could not be decoded", name, exc_info=True)
        return BatchItem(name=name, steps=None, error=UNREADABLE)


def _box_size(size: int, mnist_style: bool) -> int:
    """Side of the box the content is fitted into for a size x size model input."""
    if size < 3:
        raise ValueError(f"size must be at least 3 pixels, got {size}")
    return MNIST_BOX if mnist_style and size == MNIST_SIZE else size - 2


def _rgb_and_alpha(img: Image.Image) -> tuple[FloatImage, FloatImage | None]:
    """RGB HxWx3 and alpha HxW (None when opaque) in [0, 1], shrunk to WORK_SIZE."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        full_scale = 1.0 if img.mode == "F" else 65535.0
        gray = _to_unit_range(np.nan_to_num(np.asarray(img).astype(np.float32)), full_scale)
        gray = _resize(gray, _fit(img.width, img.height, WORK_SIZE)) if max(img.size) > WORK_SIZE else gray
        return np.repeat(gray[..., None], 3, axis=2), None
    if img.mode == "LAB":  # Pillow cannot convert LAB to RGB; its L band is the lightness we need
        img = img.getchannel("L")
    has_alpha = "A" in img.getbands() or "transparency" in img.info
    rgb_img = img.convert("RGBA" if has_alpha else "RGB")  # also applies a palette and CMYK
    if max(rgb_img.size) > WORK_SIZE:
        rgb_img = rgb_img.resize(_fit(rgb_img.width, rgb_img.height, WORK_SIZE), Image.Resampling.BOX)
    pixels = np.asarray(rgb_img, dtype=np.float32) / 255.0
    return pixels[..., :3], (pixels[..., 3] if has_alpha else None)


def _to_unit_range(values: FloatImage, full_scale: float) -> FloatImage:
    """Scale by the format's full range, or stretch min..max when values fall outside it."""
    low, high = float(values.min()), float(values.max())
    if low >= 0.0 and high <= full_scale:
        return values / np.float32(full_scale)
    span = high - low
    return (values - np.float32(low)) / np.float32(span) if span > 0 else np.zeros_like(values)


def _flatten(rgb: FloatImage, alpha: FloatImage | None) -> FloatImage:
    """Composite over the background that makes the visible pixels stand out.

    Transparent pixels often hide black RGB values; dark strokes on a transparent background must
    come out on white, light strokes on black.
    """
    if alpha is None:
        return rgb
    if float(alpha.max()) == 0.0:
        raise ImageInputError(FULLY_TRANSPARENT)
    visible_brightness = float((_luminance(rgb) * alpha).sum() / alpha.sum())
    background = np.float32(1.0 if visible_brightness < 0.5 else 0.0)
    weight = alpha[..., None]
    return rgb * weight + background * (np.float32(1.0) - weight)


def _luminance(rgb: FloatImage) -> FloatImage:
    """ITU-R 601-2 luma, the weights of Pillow's own "L" conversion."""
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)


def _border_median(image: FloatImage) -> float:
    """The background level: strokes rarely touch the border, the paper does."""
    return float(np.median(np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])))


def _levelled_ink(oriented: FloatImage, forced: bool) -> FloatImage:
    """Ink with the background at 0 and the strongest stroke at 1 (MNIST's background is exactly 0)."""
    background = _border_median(oriented)
    contrast = float(oriented.max()) - background
    if contrast >= MIN_CONTRAST:
        return np.clip((oriented - np.float32(background)) / np.float32(contrast), 0.0, 1.0)
    flipped = 1.0 - oriented
    if forced and float(flipped.max()) - _border_median(flipped) >= MIN_CONTRAST:
        raise ImageInputError(WRONG_INK_SETTING)
    raise ImageInputError(BLANK)


def _crop_to_content(ink: FloatImage) -> FloatImage:
    """The bounding box of the pixels that count as ink (there is at least one: the peak is 1)."""
    rows = np.flatnonzero(ink.max(axis=1) > INK_THRESHOLD)
    cols = np.flatnonzero(ink.max(axis=0) > INK_THRESHOLD)
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _fit(width: int, height: int, longest: int) -> tuple[int, int]:
    """(width, height) scaled so the longer side is ``longest``, keeping aspect, never below 1 pixel."""
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(image: FloatImage, size: tuple[int, int]) -> FloatImage:
    """Area-average when shrinking (anti-aliased, and how the sklearn digits' 8x8 counts were made),
    bilinear when enlarging (box filtering would repeat pixels as blocks)."""
    height, width = image.shape
    if size == (width, height):
        return image
    shrinking = size[0] <= width and size[1] <= height
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(image.astype(np.float32)).resize(size, resample), dtype=np.float32)


def _pad_to_square(image: FloatImage, side: int) -> FloatImage:
    """The content in the middle of a black side x side square."""
    height, width = image.shape
    top, left = (side - height) // 2, (side - width) // 2
    square = np.zeros((side, side), dtype=np.float32)
    square[top : top + height, left : left + width] = image
    return square


def _place_by_mass(content: FloatImage, size: int, mnist_like: bool) -> FloatImage:
    """Place the content so its centre of mass is at the frame's centre, as MNIST was made.

    MNIST's mass centre sits at pixel index 14.0 (measured: 13.99 rows, 14.01 columns over the
    10k test digits), not at the geometric 13.5; the 8x8 sklearn digits sit at their geometric 3.5.

    The shift is clamped so that no ink leaves the frame. The strongest pixel is scaled to 1: shrinking
    thin strokes by area-averaging dims them, and the training images use the full range.
    """
    height, width = content.shape
    total = float(content.sum())
    centre_row = float(content.sum(axis=1) @ np.arange(height)) / total
    centre_col = float(content.sum(axis=0) @ np.arange(width)) / total
    middle = size / 2 if mnist_like else (size - 1) / 2
    top = int(np.clip(round(middle - centre_row), 0, size - height))
    left = int(np.clip(round(middle - centre_col), 0, size - width))
    frame = np.zeros((size, size), dtype=np.float32)
    frame[top : top + height, left : left + width] = content
    return frame / frame.max()
