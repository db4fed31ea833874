"""Reference photo loading: every odd format becomes an 8-bit RGB PNG, nothing is refused for size."""

import numpy as np
import pytest
from PIL import Image

from viga_addon.agent.photo import PhotoError, prepare_reference

pytestmark = pytest.mark.smoke


def _roundtrip(tmp_path, image, name="in.png"):
    src = tmp_path / name
    image.save(src)
    info = prepare_reference(src, tmp_path / "out.png")
    out = Image.open(tmp_path / "out.png")
    return info, out


def test_alpha_is_composited_over_grey(tmp_path):
    rgba = Image.new("RGBA", (20, 10), (255, 0, 0, 0))
    info, out = _roundtrip(tmp_path, rgba)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (128, 128, 128)
    assert "alpha composited over grey" in info["notes"]


def test_greyscale_and_16_bit(tmp_path):
    grey = Image.fromarray(np.full((8, 8), 200, dtype=np.uint8), mode="L")
    info, out = _roundtrip(tmp_path, grey)
    assert out.mode == "RGB" and out.getpixel((1, 1)) == (200, 200, 200)
    deep = Image.fromarray(np.full((8, 8), 65535 // 2, dtype=np.uint16))
    info, out = _roundtrip(tmp_path, deep, "deep.png")
    assert out.mode == "RGB" and abs(out.getpixel((0, 0))[0] - 128) <= 1
    assert "16-bit converted to 8-bit" in info["notes"]


def test_huge_photo_is_downscaled_not_refused(tmp_path):
    info, out = _roundtrip(tmp_path, Image.new("RGB", (5000, 2500), (10, 20, 30)))
    assert out.size == (2048, 1024)
    assert info["source_size"] == [5000, 2500]


def test_jpeg_is_accepted(tmp_path):
    info, out = _roundtrip(tmp_path, Image.new("RGB", (30, 20), (0, 200, 0)), "p.jpg")
    assert out.size == (30, 20)


@pytest.mark.parametrize(
    "content, expect",
    [
        (None, "not found"),
        (b"garbage", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "photo|image"),
    ],
)
def test_bad_files(tmp_path, content, expect):
    src = tmp_path / "x.png"
    if content is not None:
        src.write_bytes(content)
    with pytest.raises(PhotoError, match=expect):
        prepare_reference(src, tmp_path / "out.png")
    assert not (tmp_path / "out.png").exists()
