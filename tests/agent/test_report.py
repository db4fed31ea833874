"""report.html from real run folders (scripted provider, real bpy, tiny renders)."""

import json
import math
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from pipeline_helpers import demo_script, new_session

from viga_addon.agent.plots import metrics_svg
from viga_addon.agent.report import collect_run, write_report


class _Refs(HTMLParser):
    """Every resource the page would load (src/href) and whether it has scripts."""

    def __init__(self):
        super().__init__()
        self.refs, self.scripts, self.imgs = [], 0, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "img":
            self.imgs += 1
        for key in ("src", "href"):
            if attrs.get(key) is not None:
                self.refs.append(attrs[key])


def _refs(html):
    parser = _Refs()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    script = demo_script()
    # a checklist item with markup: it must come out escaped, never as HTML
    script["geometry"]["verifier"][0][-1]["tool_calls"][0]["arguments"]["checklist"].append(
        "<script>alert('x')</script> & <b>bold</b>"
    )
    session, worker = new_session(
        tmp_path_factory.mktemp("report"), script, stages=["init", "geometry", "material"]
    )
    try:
        assert session.run_to_end() == "done", session.state.message
    finally:
        worker.close()
    return session.run_dir


def test_report_of_a_finished_run_links_only_files_in_the_run_folder(run_dir):
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    html = path.read_text()
    page = _refs(html)
    assert page.scripts == 0
    assert page.refs, "the report shows images"
    for ref in page.refs:
        assert "://" not in ref and not ref.startswith("/"), ref
        assert (run_dir / ref).is_file(), ref
    assert "reference.png" in page.refs and "final.png" in page.refs
    for stage, rounds in (("init", 2), ("geometry", 2), ("material", 1)):
        for n in range(1, rounds + 1):
            assert f"stages/{stage}/round_{n}/render.png" in page.refs
    # verifier's novel views are reused (init's viewpoints), not re-rendered
    assert any("/views/view_00" in r and "viewpoint" in r for r in page.refs)


def test_report_shows_checklist_escaped_diff_and_numbers(run_dir):
    html = write_report(run_dir).read_text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "blue_box must be 1.5 units tall" in html
    # geometry round 2 changes the box: its diff against round 1 has added and removed lines
    assert '<span class="add">+box.scale = (1.0, 1.0, 1.5)</span>' in html
    assert '<span class="del">' in html
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert f"PSNR {metrics['final']['psnr']:.2f} dB" in html
    state = json.loads((run_dir / "state.json").read_text())
    images = state["stages"]["geometry"]["tokens"]["images"]
    assert f"{images} images sent" in html


def test_plot_has_a_point_per_round_and_final(run_dir):
    data = collect_run(run_dir)
    html = write_report(run_dir).read_text()
    svg = html[html.index("<svg") : html.index("</svg>") + 6]
    root = ET.fromstring(svg)
    circles = root.findall(".//{http://www.w3.org/2000/svg}circle")
    rounds = sum(len(s["rounds"]) for s in data["stages"])
    assert rounds == 5
    assert len(circles) == 2 * (rounds + 1)  # PSNR and SSIM for each round and the final render


def test_embedded_report_is_one_self_contained_file(run_dir, tmp_path):
    out = write_report(run_dir, embed=True, out=tmp_path / "one.html")
    page = _refs(out.read_text())
    assert page.refs and all(r.startswith("data:image/png;base64,") for r in page.refs)
    shutil.copy(out, tmp_path / "moved.html")  # nothing outside the file is needed


def test_views_of_final_blend_come_before_the_verifiers(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("*.blend"))
    (copy / "novel_views").mkdir()
    shutil.copy(copy / "final.png", copy / "novel_views" / "view_001_viewpoint_1.png")
    html = write_report(copy).read_text()
    assert "Rendered from final.blend" in html
    hero = html[html.index("<h2>Novel views") : html.index("<h2>PSNR")]
    assert _refs(hero).refs == ["novel_views/view_001_viewpoint_1.png"]


def test_report_elsewhere_keeps_relative_links_valid(run_dir, tmp_path):
    html = write_report(run_dir, out=tmp_path / "r.html").read_text()
    assert f'<base href="{run_dir.resolve().as_uri()}/">' in html


def test_unfinished_or_damaged_run_folder_still_reports(run_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken, ignore=shutil.ignore_patterns("*.blend"))
    for name in ("final.png", "metrics.json", "scene.py"):
        (broken / name).unlink()
    shutil.rmtree(broken / "stages" / "material")
    (broken / "stages/geometry/round_2/verdict.json").unlink()  # round 2 in progress
    (broken / "stages/geometry/round_2/render.png").unlink()
    with open(broken / "events.jsonl", "a") as f:
        f.write('{"t": 1, "kind": "tor')  # torn last line after a kill
    state = json.loads((broken / "state.json").read_text())
    state["status"], state["message"] = "running", ""
    (broken / "state.json").write_text(json.dumps(state))
    html = write_report(broken).read_text()
    assert "Latest render (the run has not finished)" in html
    assert "in progress" in html
    assert "stages/geometry/round_2/before.png" in html
    page = _refs(html)
    assert all((broken / r).is_file() for r in page.refs)
    # state.json torn too: the page still comes out, from the folder alone
    (broken / "state.json").write_text('{"status": "runn')
    html = write_report(broken).read_text()
    assert "stages/init/round_1/render.png" in html


def test_live_state_wins_over_the_state_file(run_dir, tmp_path):
    state = json.loads((run_dir / "state.json").read_text())
    state["status"], state["message"] = "paused", "paused by the user"
    html = write_report(run_dir, out=tmp_path / "r.html", state=state).read_text()
    assert '<span class="badge paused">paused</span>' in html and "paused by the user" in html


@pytest.mark.smoke
def test_empty_folder_reports_without_crashing(tmp_path):
    html = write_report(tmp_path).read_text()
    assert "no rounds with metrics yet" in html and "not rendered yet" in html


@pytest.mark.smoke
def test_plot_handles_gaps_infinity_and_markup():
    points = [
        {"stage": "init", "label": "r1", "psnr": 10.0, "ssim": 0.5},
        {"stage": "init", "label": "r2", "psnr": None, "ssim": None},
        {"stage": "<g>", "label": "r1", "psnr": math.inf, "ssim": 1.0},
        {"stage": "<g>", "label": "r2", "psnr": 55.0, "ssim": 0.9},
    ]
    root = ET.fromstring(metrics_svg(points))
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f".//{ns}circle")) == 6
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "<g>" in texts and "∞" in texts and "60" in texts  # axis grows past 40 dB for 55


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    import numpy as np
    from PIL import Image

    path = write_report(run_dir)
    shot = tmp_path / "shot.png"
    r = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tempfile.mkdtemp()}",
            f"--screenshot={shot}",
            "--window-size=1000,900",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.is_file(), r.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float32)
    assert pixels.std() > 20  # not a blank page: the photo and renders are on it
