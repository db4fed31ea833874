"""The settle check (tools/physics/): roles, collision shapes, masses, verdicts, the working copy,
the render-process job, and the demo's own scene. Real bpy, tiny scenes built here."""

import json
import math

import bpy
import pytest

from viga_addon.demo import tabletop_edit
from viga_addon.tools.physics import check_scene, materials, roles
from viga_addon.tools.physics.meshes import mesh_data
from viga_addon.tools.physics.shapes import fit_shape
from viga_addon.tools.render.process import jobs

SLOPE = math.radians(25)


def ground(name="ground", size=6.0, rotation=(0, 0, 0)):
    bpy.ops.mesh.primitive_plane_add(size=size, rotation=rotation)
    bpy.context.object.name = name
    return bpy.context.object


def box(name="box", z=0.5, size=1.0, x=0.0, y=0.0, rotation=(0, 0, 0)):
    bpy.ops.mesh.primitive_cube_add(size=size, location=(x, y, z), rotation=rotation)
    bpy.context.object.name = name
    return bpy.context.object


def ball(name="ball", z=0.5, radius=0.5, x=0.0):
    bpy.ops.mesh.primitive_uv_sphere_add(
        radius=radius, location=(x, 0, z), segments=16, ring_count=8
    )
    bpy.context.object.name = name
    return bpy.context.object


def give(obj, material_name, metallic=0.0, transmission=0.0):
    mat = bpy.data.materials.new(material_name)
    if bpy.app.version < (5, 0):
        mat.use_nodes = True
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Metallic"].default_value = metallic
    bsdf.inputs["Transmission Weight"].default_value = transmission
    obj.data.materials.append(mat)
    return mat


def on_slope(make, **kw):
    """``make`` resting on a plane tilted 25° about Y, flush with it."""
    ground("ramp", rotation=(0, SLOPE, 0))
    normal = (math.sin(SLOPE), 0.0, math.cos(SLOPE))
    obj = make(**kw)
    obj.rotation_euler = (0, SLOPE, 0)
    obj.location = tuple(0.5 * c for c in normal)
    return obj


def check(**kw):
    return check_scene(bpy.context.scene, **kw)


def test_a_box_resting_on_the_ground_is_ready(clean_scene):
    ground()
    box()
    report = check()
    assert report["ready"] is True and report["seconds"] == 2.0 and report["fps"] == 24
    b = report["objects"]["box"]
    assert (b["role"], b["shape"], b["verdict"]) == ("active", "BOX", "rests")
    assert b["moved_m"] < 0.005 and b["turned_deg"] < 0.5 and b["peak_speed_m_s"] < 0.1
    assert report["objects"]["ground"]["role"] == "passive"
    assert report["summary"] == "stable 1/1 · physics-ready"
    assert report["timing"]["total_s"] < 3


def test_a_box_floating_5_cm_falls_and_says_how_far(clean_scene):
    ground()
    box(z=0.55)
    report = check()
    b = report["objects"]["box"]
    assert report["ready"] is False and b["verdict"] == "floats"
    assert b["gap_m"] == pytest.approx(0.05, abs=0.002) and b["support"] == "ground"
    assert b["moved_m"] == pytest.approx(0.05, abs=0.005)
    assert "5.0 cm" in b["detail"] and "ground" in b["detail"]
    assert report["summary"] == "stable 0/1 · box floats 5.0 cm"


def test_a_box_sunk_3_cm_into_the_ground_is_pushed_out(clean_scene):
    ground()
    box(z=0.47)
    b = check()["objects"]["box"]
    assert b["verdict"] == "sunk" and "3.0 cm inside ground" in b["detail"]
    assert b["overlaps"] == [
        {"other": "ground", "depth_m": pytest.approx(0.03, abs=0.002), "axis": "+z"}
    ]
    assert b["moved_m"] > 0.01  # how far Bullet pushes it out varies; the geometry says 3 cm


def test_two_boxes_inside_each_other_are_pushed_apart(clean_scene):
    ground()
    a, b = box("a"), box("b", z=0.4, size=0.8, x=0.8, y=0.2)
    apart = (b.location - a.location).length
    report = check()
    for name, other in (("a", "b"), ("b", "a")):
        obj = report["objects"][name]
        assert obj["verdict"] == "sunk" and f"overlapped {other} by 10.0 cm" in obj["detail"]
        assert obj["overlaps"][0]["depth_m"] == pytest.approx(0.1, abs=0.003)
    assert report["objects"]["a"]["overlaps"][0]["axis"] == "-x"
    assert (b.location - a.location).length == pytest.approx(apart)  # the scene is untouched


def test_a_box_on_a_25_degree_slope_slides(clean_scene):
    on_slope(box)
    b = check()["objects"]["box"]
    assert b["verdict"] == "slides" and b["slope_deg"] == pytest.approx(25, abs=0.5)
    assert b["moved_m"] > 0.1 and "25° slope of ramp" in b["detail"]


def test_a_ball_on_a_slope_rolls(clean_scene):
    on_slope(ball)
    b = check()["objects"]["ball"]
    assert b["shape"] == "SPHERE" and b["verdict"] == "rolls"


def test_a_sphere_resting_on_the_ground_is_ready(clean_scene):
    ground()
    ball()
    report = check()
    assert report["ready"] and report["objects"]["ball"]["verdict"] == "rests"
    assert report["objects"]["ball"]["shape"] == "SPHERE"


def test_a_tall_box_standing_on_an_edge_tips(clean_scene):
    ground()
    tilt = math.radians(20)
    bpy.ops.mesh.primitive_cube_add(size=1, rotation=(0, tilt, 0))
    pole = bpy.context.object
    pole.name, pole.scale = "pole", (0.2, 0.2, 1.0)
    # the lowest corner on the ground
    pole.location.z = 0.5 * math.cos(tilt) + 0.1 * math.sin(tilt)
    b = check()["objects"]["pole"]
    assert b["verdict"] == "tips" and b["turned_deg"] > 20


def test_nothing_below_it_floats(clean_scene):
    box(z=2.0)
    b = check(seconds=0.5)["objects"]["box"]
    assert b["verdict"] == "floats" and b["support"] is None and "nothing below it" in b["detail"]


def test_a_parented_object_is_checked_where_it_appears(clean_scene):
    ground()
    bpy.ops.object.empty_add(location=(0, 0, 0.3))
    parent = bpy.context.object
    child = box(z=0.25)  # 0.55 in the world once parented
    child.parent = parent
    child.matrix_parent_inverse.identity()
    b = check()["objects"]["box"]
    assert b["verdict"] == "floats" and b["gap_m"] == pytest.approx(0.05, abs=0.002)
    assert child.parent is parent


def test_flipped_normals_and_mirrors_do_not_fool_the_geometry(clean_scene):
    flipped = ground()
    for poly in flipped.data.polygons:
        poly.flip()
    inside_out = box("inside_out", x=-1.5)
    for poly in inside_out.data.polygons:
        poly.flip()
    box("mirrored", x=1.5).scale.x = -1
    box("sunk", y=1.5, z=0.47)
    bpy.ops.mesh.primitive_plane_add(  # a lean-to roof over a box, its box overlapping the box's
        size=2, location=(0, -1.5, 1.6), rotation=(math.radians(45), 0, 0)
    )
    bpy.context.object.name = "roof"
    box("sheltered", y=-1.5)
    objects = check()["objects"]
    for name in ("inside_out", "mirrored", "sheltered"):
        assert objects[name]["verdict"] == "rests" and objects[name]["overlaps"] == [], name
        assert objects[name]["support"] == "ground", name
    assert objects["sunk"]["verdict"] == "sunk"
    assert objects["sunk"]["overlaps"][0]["depth_m"] == pytest.approx(0.03, abs=0.002)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: bpy.ops.mesh.primitive_uv_sphere_add(radius=0.3), "SPHERE"),
        (lambda: bpy.ops.mesh.primitive_ico_sphere_add(radius=0.3, subdivisions=3), "SPHERE"),
        (lambda: bpy.ops.mesh.primitive_cube_add(size=0.5), "BOX"),
        (lambda: bpy.ops.mesh.primitive_cylinder_add(radius=0.2, depth=0.6), "CYLINDER"),
        (
            lambda: bpy.ops.mesh.primitive_cylinder_add(
                radius=0.2, depth=0.6, end_fill_type="TRIFAN"
            ),
            "CYLINDER",
        ),
        (lambda: bpy.ops.mesh.primitive_cone_add(radius1=0.3, depth=0.5), "CONVEX_HULL"),
        (lambda: bpy.ops.mesh.primitive_torus_add(), "MESH"),
        (lambda: bpy.ops.mesh.primitive_monkey_add(), "MESH"),
    ],
)
def test_the_collision_shape_fits_the_mesh(clean_scene, make, shape):
    make()
    md = mesh_data(bpy.context.object, bpy.context.evaluated_depsgraph_get())
    assert fit_shape(md, "active").shape == shape


def test_primitives_only_where_blender_centres_them(clean_scene):
    """Blender centres SPHERE/BOX/CYLINDER on the origin and stands CYLINDER on local Z."""
    bpy.ops.mesh.primitive_cube_add(size=0.5)
    cube = bpy.context.object
    cube.data.transform(__import__("mathutils").Matrix.Translation((0, 0, 0.25)))
    bpy.ops.mesh.primitive_cylinder_add(radius=0.2, depth=0.6, rotation=(math.pi / 2, 0, 0))
    lying = bpy.context.object
    lying.data.transform(lying.matrix_basis.to_3x3().to_4x4())  # a can on its side in its mesh
    lying.rotation_euler = (0, 0, 0)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    assert fit_shape(mesh_data(cube, depsgraph), "active").shape == "CONVEX_HULL"
    assert fit_shape(mesh_data(lying, depsgraph), "active").shape == "CONVEX_HULL"


def test_roles_and_shapes_of_a_scene(clean_scene):
    ground()
    ball(x=-1.5)
    box()
    bpy.ops.mesh.primitive_cylinder_add(radius=0.3, depth=1.0, location=(1.5, 0, 0.5))
    bpy.context.object.name = "can"
    objects = check()["objects"]
    got = {n: (o["role"], o["shape"]) for n, o in objects.items()}
    assert got == {
        "ground": ("passive", "MESH"),
        "ball": ("active", "SPHERE"),
        "box": ("active", "BOX"),
        "can": ("active", "CYLINDER"),
    }


def test_a_table_carrying_a_cup_is_passive_and_a_lamp_is_not(clean_scene):
    ground("floor")
    table = box("kitchen_table", z=0.4, size=0.8)
    table.scale = (1.5, 1.0, 1.0)
    table.location.z = 0.4
    box("table_lamp", z=0.9, size=0.2, x=0.3)
    box("cup", z=0.85, size=0.1, x=-0.3)
    objects = check()["objects"]
    assert objects["floor"]["role"] == "passive"
    assert objects["kitchen_table"]["role"] == "passive"
    assert objects["kitchen_table"]["shape"] == "BOX"
    assert objects["table_lamp"]["role"] == objects["cup"]["role"] == "active"


def test_things_resting_on_the_ground_stay_active(clean_scene):
    """A vase five times the size of the cups beside it, and a toy named after a support."""
    ground(size=2)
    box("vase", z=0.25, size=0.5)
    for k in range(4):
        box(f"cup_{k}", z=0.05, size=0.1, x=0.5, y=-0.6 + 0.4 * k)
    box("paper_plane", z=0.05, size=0.1, x=-0.6)
    objects = check()["objects"]
    assert objects["ground"]["role"] == "passive"
    assert {n for n, o in objects.items() if o["role"] == "active"} == set(objects) - {"ground"}


def test_the_ground_is_found_by_geometry_without_a_name(clean_scene):
    slab = box("thing", z=-0.5, size=1.0)
    slab.scale = (4, 4, 1)
    box("crate", z=0.25, size=0.5)
    report = check()
    assert report["objects"]["thing"]["role"] == "passive"
    assert report["ready"]


@pytest.mark.parametrize(
    "name, expect",
    [
        ("kitchen_table", "table"),
        ("Table.001", "table"),
        ("table_top", "table"),
        ("wall_shelf_left", "shelf"),
        ("Plane", "plane"),
        ("table_lamp", None),
        ("paper_cup", None),
        ("floorLamp", None),
    ],
)
def test_support_names(name, expect):
    assert roles.support_word(name) == expect


@pytest.mark.parametrize(
    "name, expect",
    [
        ("yellow_metal", "metal"),
        ("BrushedSteel", "metal"),
        ("aluminium_frame", "metal"),
        ("oak_top", "wood"),
        ("Wooden.002", "wood"),
        ("porcelain_cup", "ceramic"),
        ("red_plastic", "plastic"),
        ("environment", None),  # no "iron" in it
        ("tinted", None),  # no "tin" either
        ("cloak", None),
        ("wool_blanket", "fabric"),
        ("tyre_rubber", "rubber"),
        ("window_glass", "glass"),
    ],
)
def test_material_names(name, expect):
    assert materials.class_from_name(name) == expect


def test_mass_from_size_and_material(clean_scene):
    ground()
    steel, plastic = box("steel_box", x=-1), box("plastic_box", x=1)
    give(steel, "brushed", metallic=1.0)  # no name: the BSDF says metal
    give(plastic, "red_plastic")
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0, 3, 0.5))
    bpy.context.object.name = "pane"
    give(bpy.context.object, "clear", transmission=1.0)
    bpy.ops.mesh.primitive_cube_add(size=1.0, location=(0, -2, 0.5))
    bpy.context.object.name = "bare"
    objects = check()["objects"]
    s, p = objects["steel_box"], objects["plastic_box"]
    assert (s["material"], p["material"]) == ("metal", "plastic")
    assert s["volume_m3"] == pytest.approx(1.0) and s["volume_from"] == "mesh"
    assert s["mass_kg"] == pytest.approx(materials.DENSITY["metal"])
    assert p["mass_kg"] == pytest.approx(materials.DENSITY["plastic"])
    assert s["mass_kg"] > 5 * p["mass_kg"]
    assert objects["pane"]["material"] == "glass"
    assert objects["bare"]["material"] == "plastic"  # unknown: plastic


def test_the_artists_override_wins(clean_scene):
    ground()
    hovering = box(z=0.6)
    hovering[roles.OVERRIDE_PROPERTY] = "passive"
    report = check()
    assert report["ready"] and report["objects"]["box"]["role"] == "passive"
    hovering[roles.OVERRIDE_PROPERTY] = "active"
    bpy.data.objects["ground"][roles.OVERRIDE_PROPERTY] = "none"
    report = check(seconds=0.5)
    assert report["objects"]["ground"] == {
        "role": "none",
        "shape": None,
        "verdict": "ignored",
        "detail": "viga_physics_role = 'none'",
    }
    assert report["objects"]["box"]["verdict"] == "floats"
    assert report["objects"]["box"]["support"] is None  # the ground takes no part


def test_the_scene_checked_is_left_as_it_was(clean_scene):
    ground()
    b = box(z=0.55)
    before = (
        sorted(o.name for o in bpy.data.objects),
        sorted(s.name for s in bpy.data.scenes),
        len(bpy.data.collections),
        len(bpy.data.meshes),
    )
    check()
    after = (
        sorted(o.name for o in bpy.data.objects),
        sorted(s.name for s in bpy.data.scenes),
        len(bpy.data.collections),
        len(bpy.data.meshes),
    )
    assert after == before
    assert bpy.context.scene.rigidbody_world is None and b.rigid_body is None
    assert b.location.z == pytest.approx(0.55) and b.matrix_world.translation.z == pytest.approx(
        0.55
    )


def test_in_place_replaces_an_old_baked_world(clean_scene):
    g, b = ground(), box(z=2.0)
    with bpy.context.temp_override(object=b, active_object=b, selected_objects=[b, g]):
        bpy.ops.rigidbody.world_add()
        bpy.ops.rigidbody.objects_add(type="ACTIVE")
    scene = bpy.context.scene
    with bpy.context.temp_override(scene=scene, point_cache=scene.rigidbody_world.point_cache):
        bpy.ops.ptcache.bake(bake=True)
    b.location.z = 0.5  # resting now: the old bake has it fall from 2 m
    report = check(in_place=True)
    assert report["ready"] and report["objects"]["ground"]["role"] == "passive"
    world = scene.rigidbody_world
    assert not world.point_cache.is_baked
    assert {o.name for o in world.collection.objects} == {"ground", "box"}
    assert [c.name for c in bpy.data.collections] == [world.collection.name]
    assert g.rigid_body.type == "PASSIVE" and g.rigid_body.collision_shape == "MESH"


def test_objects_hidden_in_the_viewport_still_count(clean_scene):
    """They render, so they are in the photo; the copy is simulated, the original stays hidden."""
    ground()
    eye, monitor = box("eye", z=0.6, x=-1), box("monitor", z=0.6, x=1)
    eye.hide_set(True)
    monitor.hide_viewport = True
    objects = check()["objects"]
    assert objects["eye"]["verdict"] == objects["monitor"]["verdict"] == "floats"
    assert eye.hide_get() and monitor.hide_viewport


def test_bad_arguments(clean_scene):
    for kw in ({"seconds": 0}, {"seconds": 1000}, {"fps": 0}, {"fps": 2.5}):
        with pytest.raises(ValueError, match="seconds|fps"):
            check(**kw)


def test_the_render_job_runs_in_blender_on_a_copy(clean_scene, tmp_path):
    """No ``blend`` in the job: the in-process fallback, on the artist's live scene."""
    ground()
    box(z=0.55)
    reply = jobs.run_job({"kind": "physics", "seconds": 1.0, "fps": 30, "out": str(tmp_path)})
    assert reply["ok"] and reply["physics"]["ready"] is False
    assert reply["physics"]["frames"] == 30
    saved = json.loads((tmp_path / "physics.json").read_text())
    assert saved["objects"]["box"]["verdict"] == "floats"
    assert (tmp_path / "physics.blend").is_file()
    assert bpy.context.scene.rigidbody_world is None and len(bpy.data.scenes) == 1
    assert jobs.run_job({"kind": "physics", "seconds": -1})["ok"] is False


def test_the_render_job_in_the_render_process(clean_scene, tmp_path):
    from viga_addon.tools.render.process.client import RenderProcess, worker_command
    from viga_addon.tools.scene import file as scene_file

    ground()
    box(z=0.47)
    process = RenderProcess(worker_command(None))
    try:
        blend = process.job_path("physics")
        scene_file.write_scene(blend)
        process.submit({"kind": "physics", "blend": blend, "out": str(tmp_path)})
        reply = process.wait(120)
    finally:
        process.close()
    assert reply["ok"], reply
    assert reply["physics"]["objects"]["box"]["verdict"] == "sunk"
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "physics.blend"))
    body = bpy.data.objects["box"].rigid_body  # in place there: the real names
    assert body.type == "ACTIVE" and body.collision_shape == "BOX"


def test_the_demo_scene(clean_scene):
    """The offline demo's own scene (``tabletop.TRUTH``, the photo's source) is NOT ready: its
    composition step puts the ball (radius 0.5) at z = 0.6, 10 cm above the ground. Box and can
    stand as they should. The photo was rendered from this scene, so the demo keeps it."""
    tabletop_edit.build_scene(perturb=False)
    report = check()
    objects = report["objects"]
    assert report["ready"] is False
    assert report["summary"] == "stable 2/3 · red_ball floats 10.0 cm"
    assert objects["red_ball"]["verdict"] == "floats"
    assert objects["red_ball"]["gap_m"] == pytest.approx(0.1, abs=0.002)
    assert objects["blue_box"]["verdict"] == objects["yellow_can"]["verdict"] == "rests"
    assert objects["yellow_can"]["material"] == "metal" and objects["ground"]["material"] == "wood"
    assert report["timing"]["total_s"] < 2.0
