"""viga_addon.common.metrics: PSNR / SSIM / image loading / render-vs-photo comparison."""

import math
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from viga_addon.common import metrics

pytestmark = pytest.mark.smoke


def _save(path, array, mode=None):
    """Save a float [0,1] (H,W,C) array as an 8-bit PNG (or use a ready Pillow mode)."""
    if mode is None:
        array = np.clip(np.round(np.asarray(array) * 255.0), 0, 255).astype(np.uint8)
        Image.fromarray(array).save(path)
    else:
        Image.fromarray(array, mode=mode).save(path)
    return path


def _textured(height, width, seed=0):
    """A smooth, structured RGB image (so SSIM has something to measure)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [
        0.5 + 0.4 * np.sin(2 * np.pi * (f1 * x + f2 * y) + p)
        for f1, f2, p in rng.uniform(0.5, 4.0, size=(3, 3))
    ]
    return np.stack(channels, axis=2).astype(np.float32)


def test_import_does_not_need_bpy():
    code = "import sys; sys.modules['bpy'] = None; sys.modules['mathutils'] = None; import viga_addon.common.metrics"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=".")
    assert done.returncode == 0, done.stderr


def test_identical_images_give_infinite_psnr_and_unit_ssim():
    image = _textured(48, 40)
    assert metrics.psnr(image, image.copy()) == math.inf
    assert metrics.ssim(image, image.copy()) == pytest.approx(1.0, abs=1e-12)


def test_psnr_of_known_noise_matches_analytic_value():
    rng = np.random.default_rng(1234)
    sigma = 0.05
    clean = np.full((256, 256, 3), 0.5)
    noisy = clean + rng.normal(0.0, sigma, clean.shape)
    analytic = -10.0 * math.log10(sigma**2)  # 26.02 dB for data range 1
    assert metrics.psnr(clean, noisy) == pytest.approx(analytic, abs=0.1)
    # and a deterministic check: a constant offset d gives exactly -20 log10(d)
    assert metrics.psnr(clean, clean + 0.1) == pytest.approx(20.0, abs=1e-9)


def test_ssim_decreases_with_noise_and_is_symmetric():
    rng = np.random.default_rng(7)
    image = _textured(64, 64)
    slightly = np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1)
    very = np.clip(image + rng.normal(0, 0.2, image.shape), 0, 1)
    s_slight = metrics.ssim(image, slightly)
    s_very = metrics.ssim(image, very)
    assert 1.0 > s_slight > s_very > 0.0
    assert metrics.ssim(slightly, image) == pytest.approx(s_slight, abs=1e-12)


def test_ssim_matches_scikit_image():
    skimage_metrics = pytest.importorskip(
        "skimage.metrics",
        reason="scikit-image not installed (pip install scikit-image) - independent SSIM check skipped",
    )
    rng = np.random.default_rng(3)
    a = _textured(70, 90, seed=1)
    b = np.clip(0.8 * a + 0.1 + rng.normal(0, 0.05, a.shape), 0, 1)
    expected = skimage_metrics.structural_similarity(
        a.astype(np.float64),
        b.astype(np.float64),
        channel_axis=2,
        data_range=1.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    assert metrics.ssim(a, b) == pytest.approx(expected, abs=1e-6)


def test_ssim_rejects_tiny_images():
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))


def test_alpha_is_composited_over_background(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red everywhere
    rgba[0, :, 3] = 255  # opaque row
    rgba[1, :, 3] = 0  # transparent row
    rgba[2:, :, 3] = 128  # half-transparent rows
    path = _save(tmp_path / "rgba.png", rgba, mode="RGBA")

    on_white = metrics.load_rgb(path, background=(1.0, 1.0, 1.0))
    on_black = metrics.load_rgb(path, background=(0, 0, 0))
    np.testing.assert_allclose(on_white[0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(on_white[1, 0], [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(on_black[1, 0], [0, 0, 0], atol=1e-6)
    half = 128 / 255
    np.testing.assert_allclose(on_white[2, 0], [1, 1 - half, 1 - half], atol=1e-6)
    np.testing.assert_allclose(on_black[2, 0], [half, 0, 0], atol=1e-6)
    # 0-255 integer backgrounds are accepted too
    np.testing.assert_allclose(
        metrics.load_rgb(path, background=(0, 255, 0))[1, 0], [0, 1, 0], atol=1e-6
    )


def test_greyscale_and_16_bit_greyscale(tmp_path):
    grey8 = np.array([[0, 128], [255, 64]], dtype=np.uint8)
    loaded = metrics.load_rgb(_save(tmp_path / "l.png", grey8, mode="L"))
    assert loaded.shape == (2, 2, 3)
    np.testing.assert_allclose(loaded[..., 1], grey8 / 255.0, atol=1e-6)

    grey16 = np.array([[0, 1000], [65535, 30000]], dtype=np.uint16)
    Image.fromarray(grey16).save(tmp_path / "i16.png")
    loaded16 = metrics.load_rgb(tmp_path / "i16.png")
    assert loaded16.shape == (2, 2, 3)
    np.testing.assert_allclose(loaded16[..., 2], grey16 / 65535.0, atol=1e-6)

    la = np.zeros((1, 2, 2), dtype=np.uint8)
    la[0, 0] = (200, 255)
    la[0, 1] = (200, 0)
    loaded_la = metrics.load_rgb(_save(tmp_path / "la.png", la, mode="LA"), background=(1, 1, 1))
    np.testing.assert_allclose(loaded_la[0, 0], [200 / 255] * 3, atol=1e-6)
    np.testing.assert_allclose(loaded_la[0, 1], [1, 1, 1], atol=1e-6)


def test_load_rgb_resizes(tmp_path):
    path = _save(tmp_path / "t.png", _textured(40, 80))
    assert metrics.load_rgb(path, size=(20, 10)).shape == (10, 20, 3)
    assert metrics.load_rgb(path, size=40).shape == (20, 40, 3)
    flat = metrics.load_rgb(_save(tmp_path / "flat.png", np.full((30, 30, 3), 0.6)), size=(7, 7))
    np.testing.assert_allclose(flat, round(0.6 * 255) / 255, atol=1e-4)


def test_compare_same_aspect_and_sizes(tmp_path):
    photo = _textured(64, 96)
    photo_path = _save(tmp_path / "photo.png", photo)
    render_path = _save(tmp_path / "render.png", photo)
    same = metrics.compare(render_path, photo_path)
    assert same["ok"] and same["psnr"] == math.inf and same["ssim"] == pytest.approx(1.0)
    assert same["cropped"] is False and same["note"] == "" and same["size"] == [96, 64]

    # a render at half the resolution is compared at the smaller size
    small = Image.open(photo_path).resize((48, 32), Image.Resampling.LANCZOS)
    small.save(tmp_path / "small.png")
    result = metrics.compare(tmp_path / "small.png", photo_path)
    assert result["ok"] and result["size"] == [48, 32] and result["cropped"] is False
    assert result["psnr"] > 30 and result["ssim"] > 0.95

    explicit = metrics.compare(render_path, photo_path, size=(30, 20))
    assert explicit["size"] == [30, 20]


def test_compare_crops_the_render_centre_when_aspect_differs(tmp_path):
    photo = np.round(_textured(32, 64, seed=5) * 255) / 255  # 2:1, already 8-bit values
    rng = np.random.default_rng(0)
    render = rng.uniform(0, 1, (64, 64, 3))  # 1:1, noise outside the matching centre band
    render[16:48] = photo
    photo_path = _save(tmp_path / "photo.png", photo)
    render_path = _save(tmp_path / "render.png", render)

    result = metrics.compare(render_path, photo_path)
    assert result["ok"] and result["cropped"] is True
    assert "centre crop 64x32" in result["note"]
    assert result["render_size"] == [64, 64] and result["photo_size"] == [64, 32]
    assert result["psnr"] == math.inf and result["ssim"] == pytest.approx(1.0)

    # without the crop (stretching the whole render) the noise would have counted
    stretched = metrics.load_rgb(render_path, size=(64, 32))
    assert metrics.psnr(stretched, metrics.load_rgb(photo_path)) < 15


def test_mask_restricts_psnr_and_ssim(tmp_path):
    a = _textured(40, 60, seed=2)
    b = a.copy()
    b[:, :30] = 1.0 - b[:, :30]  # left half differs
    right = np.zeros((40, 60), dtype=bool)
    right[:, 35:] = True  # right half, 5 px away from the differing part (SSIM window radius)
    left = ~right

    assert metrics.psnr(a, b, mask=right) == math.inf
    assert metrics.ssim(a, b, mask=right) == pytest.approx(1.0)
    assert metrics.psnr(a, b, mask=left) < metrics.psnr(a, b) < 100
    assert metrics.ssim(a, b, mask=left) < metrics.ssim(a, b) < 1.0
    with pytest.raises(ValueError, match="no pixels"):
        metrics.psnr(a, b, mask=np.zeros((40, 60), dtype=bool))

    # as an image file in photo coordinates, through compare()
    mask_path = _save(
        tmp_path / "mask.png", np.repeat(right[..., None], 3, axis=2).astype(np.float32)
    )
    result = metrics.compare(
        _save(tmp_path / "r.png", b), _save(tmp_path / "p.png", a), mask=mask_path
    )
    assert result["ok"] and result["psnr"] == math.inf
    assert result["masked_fraction"] == pytest.approx(25 / 60)


def test_compare_reports_unreadable_files(tmp_path):
    result = metrics.compare(tmp_path / "missing.png", tmp_path / "also_missing.png")
    assert result["ok"] is False and "cannot read image" in result["error"]


def test_learned_metrics_unavailable_without_packages_or_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    report = metrics.learned_metrics_available()
    assert set(report) == {"clip", "dino", "lpips", "dreamsim"}
    for name, entry in report.items():
        assert entry["available"] is False, name
        assert entry["reason"], name

    # a package alone is not enough: weights must be on disk too
    packages = tmp_path / "site"
    for package in ("torch", "lpips"):
        (packages / package).mkdir(parents=True)
        (packages / package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(packages))
    report = metrics.learned_metrics_available()
    assert report["lpips"]["available"] is False
    assert "weights" in report["lpips"]["reason"]

    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "alexnet-owt-7be5be79.pth").write_bytes(b"not really weights")
    report = metrics.learned_metrics_available()
    assert report["lpips"]["available"] is True
    assert report["lpips"]["weights"].endswith("alexnet-owt-7be5be79.pth")
    assert report["dreamsim"]["available"] is False and "dreamsim" in report["dreamsim"]["reason"]
