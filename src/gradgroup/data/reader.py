"""Finding, reading and validating Cityscapes image/label pairs, with errors a user can act on.

Bad data must stop a run in ``setup()``, before any training, with a message naming the file or config key,
what was expected and how to fix it (``gradgroup.errors.DataError``). ``quick`` (the default) decodes every
label (ids must be in the Cityscapes table) and checks every PNG image's chunk checksums through its end
chunk, which finds a truncated or damaged image without decoding its pixels (PNG spec, section 5.3: each
chunk carries a CRC-32); ``full`` decodes everything. Both leave a stamp keyed on the file list, sizes
and mtimes, so later runs on unchanged data skip the check, and a file changed since is checked again.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DataError
from .labels import LABEL_ID_VALID, invalid_label_ids

IMG_SUFFIX, LABEL_SUFFIX = "_leftImg8bit.png", "_gtFine_labelIds.png"
_STAMP_VERSION = 2
_GET = ("download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from cityscapes-dataset.com and unzip "
        "both into data.root")


def find_pairs(root: Path, split: str) -> list[tuple[Path, Path]]:
    """(image, label) paths of one split, sorted; raises DataError for any layout problem."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data.root={root} does not exist; expected a Cityscapes root with leftImg8bit/ and gtFine/, "
                        "or leave data.root unset to use the generated default")
    img_dir, lab_dir = root / "leftImg8bit" / split, root / "gtFine" / split
    for d in (img_dir, lab_dir):
        if not d.is_dir():
            raise DataError(f"data.root={root} has no {d.relative_to(root)}/ directory; expected "
                            f"<root>/leftImg8bit/{split}/<city>/*{IMG_SUFFIX} and "
                            f"<root>/gtFine/{split}/<city>/*{LABEL_SUFFIX}; "
                            f"{_GET}")
    images = sorted(img_dir.glob(f"*/*{IMG_SUFFIX}"))
    if not images:
        raise DataError(f"{img_dir} contains no <city>/*{IMG_SUFFIX} files; expected the Cityscapes layout "
                        f"leftImg8bit/{split}/<city>/<city>_<seq>_<frame>{IMG_SUFFIX}; {_GET}")
    pairs, missing = [], []
    for img in images:
        lab = lab_dir / img.parent.name / (img.name[: -len(IMG_SUFFIX)] + LABEL_SUFFIX)
        (pairs if lab.is_file() else missing).append((img, lab))
    if missing:
        shown = "; ".join(f"{i} -> expected {lab}" for i, lab in missing[:3])
        raise DataError(f"{len(missing)} of {len(images)} images in {img_dir} have no matching label file ({shown}"
                        f"{' ...' if len(missing) > 3 else ''}); every image needs its gtFine *{LABEL_SUFFIX}: "
                        "unzip gtFine_trainvaltest.zip into data.root, or remove the unlabelled images")
    return pairs


def read_image(path) -> np.ndarray:
    """RGB uint8 (H, W, 3); DataError naming the file if it cannot be decoded."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError, SyntaxError) as exc:  # PIL raises all three for truncated/corrupt files
        raise DataError(f"cannot read image {path}: {exc}; re-extract or re-download it, "
                        "or remove it and its label") from exc


def read_label(path) -> np.ndarray:
    """labelIds uint8 (H, W); DataError naming the file if unreadable, multi-channel or holding bad ids."""
    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I", "I;16", "1"):
                raise DataError(f"label {path} has mode {im.mode}; expected a single-channel 8-bit *{LABEL_SUFFIX} "
                                "(the *_gtFine_color.png files are visualisations, not labels)")
            arr = np.asarray(im)
    except DataError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read label {path}: {exc}; re-extract gtFine_trainvaltest.zip "
                        "or remove the pair") from exc
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            bad = np.unique(arr[(arr < 0) | (arr > 255)])[:10].tolist()
            raise DataError(f"label {path} contains ids {bad} outside the Cityscapes table (valid 0..33); "
                            f"expected *{LABEL_SUFFIX} with labelIds")
        arr = arr.astype(np.uint8)
    if not LABEL_ID_VALID[arr].all():
        raise DataError(f"label {path} contains ids {invalid_label_ids(arr)} that are not Cityscapes labelIds "
                        f"(valid 0..33); expected *{LABEL_SUFFIX} files with labelIds, not trainIds (255) or other "
                        "encodings; regenerate them with cityscapesscripts or re-extract gtFine_trainvaltest.zip")
    return arr


def _size_mismatch(img, lab, isz, lsz):
    return DataError(f"image {img} is {isz[0]}x{isz[1]} (WxH) but its label {lab} is {lsz[0]}x{lsz[1]}; "
                     "expected the same size; re-extract the pair or remove it")


def check_sizes(img, lab, img_shape, lab_shape):
    if tuple(img_shape[:2]) != tuple(lab_shape[:2]):
        raise _size_mismatch(img, lab, img_shape[1::-1], lab_shape[1::-1])


def _verify_image(path) -> tuple[int, int]:
    """(W, H) of an image whose file is complete: PNG chunk CRCs through IEND, other formats decoded."""
    try:
        with Image.open(path) as im:
            size, fmt = im.size, im.format
            if fmt == "PNG":
                im.verify()  # reads every chunk and checks its CRC-32: truncation or damage raises
        if fmt != "PNG":
            read_image(path)
        return size
    except DataError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read image {path}: {exc}; re-extract or re-download it, "
                        "or remove it and its label") from exc


def _check_quick(pair):
    img, lab = pair
    size, label = _verify_image(img), read_label(lab)
    check_sizes(img, lab, size[::-1], label.shape)


def _check_full(pair):
    img, lab = pair
    image, label = read_image(img), read_label(lab)
    check_sizes(img, lab, image.shape, label.shape)


def _fingerprint(pairs) -> str:
    h = hashlib.sha1(f"v{_STAMP_VERSION}".encode())
    for pair in pairs:
        for p in pair:
            st = os.stat(p)
            h.update(f"{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _workers():
    return max(1, min(8, os.cpu_count() or 1))


def validate_pairs(pairs, mode: str, stamp_dir=None, name: str = "split") -> None:
    """'none': nothing; 'quick': labels decoded, images' PNG checksums; 'full': decode all. Stamped.

    A 'full' stamp also stands for 'quick' (it checked more). Errors name the first bad file in order."""
    if mode == "none":
        return
    fp = _fingerprint(pairs)[:16]
    stamps = [Path(stamp_dir, f"validated-{name}-{m}-{fp}.json") for m in (("full",) if mode == "full"
                                                                           else ("full", "quick"))] \
        if stamp_dir else []
    if any(s.is_file() for s in stamps):
        return
    check = _check_full if mode == "full" else _check_quick
    with ThreadPoolExecutor(_workers()) as pool:  # PIL decodes and zlib checks CRCs outside the GIL
        list(pool.map(check, pairs))  # map re-raises the first failure in file order
    if stamps:
        stamp = stamps[-1]
        try:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps({"mode": mode, "files": len(pairs), "first": str(pairs[0][0])}))
        except OSError:
            pass  # a read-only cache only costs re-validation next time


def label_histogram(label_paths, num_classes: int, lut: np.ndarray) -> np.ndarray:
    """Pixel count per trainId (ignore excluded) over label files, decoded in threads."""
    def count(path):
        return np.bincount(lut[read_label(path)].ravel(), minlength=256)[:num_classes]

    with ThreadPoolExecutor(_workers()) as pool:
        return np.sum(list(pool.map(count, label_paths)), axis=0, dtype=np.int64)


def histogram_cached(label_paths, num_classes, lut, cache_dir=None) -> np.ndarray:
    """``label_histogram`` cached in ``cache_dir`` under the same file-list fingerprint as validation."""
    path = Path(cache_dir, f"histogram-{_fingerprint([(p,) for p in label_paths])[:16]}.json") if cache_dir else None
    if path is not None and path.is_file():
        try:
            return np.array(json.loads(path.read_text()), dtype=np.int64)
        except (OSError, ValueError):
            pass
    hist = label_histogram(label_paths, num_classes, lut)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(hist.tolist()))
        except OSError:
            pass
    return hist
