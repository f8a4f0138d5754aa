"""scene-3d-image-browser: a shaded 3D primitive, textured with the input image, rendered in numpy.

Rays are sphere-traced against signed distance functions (vectorised over pixels, finished rays dropped
each step), with a perspective camera on +z looking at the origin and one directional light.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import Field

from stamen.actions.registry import ActionParams, Color, Point2D, Point3D, Slot, action
from stamen.execution.context import RunContext
from stamen.media.images import color_array, open_image, parse_color, save_png

Shape = Literal["cube", "sphere", "torus", "cone", "cylinder"]
CAMERA_DISTANCE = 4.0
HALF_FOV_TAN = 0.5
MAX_STEPS = 96
HIT_EPSILON = 1e-3
LIGHT = np.array([-0.4, 0.7, 0.6]) / np.linalg.norm([-0.4, 0.7, 0.6])
SUPERSAMPLE_UP_TO = 1024  # anti-alias by rendering at 2× up to this size


class Scene3dImageBrowserParams(ActionParams):
    shape: Shape = Field("cube", title="Shape")
    aspect_ratio: Literal["1:1", "16:9", "9:16", "4:3", "3:4"] = Field("1:1", title="Aspect Ratio")
    size: int = Field(1024, ge=64, le=2048, title="Resolution (longest side)")
    color: Color = Field(
        "#ffffff", title="Color", description="Multiplies the texture; the surface colour without one."
    )
    background: Color = Field("#1f2937", title="Background")
    show_background: bool = Field(True, title="Show Background", description="Off: transparent background.")
    offset: Point2D = Field(
        default_factory=lambda: Point2D(x=0, y=0),
        title="Offset",
        description="Shift in frame halves; +y is down.",
    )
    rotation: Point3D = Field(
        default_factory=lambda: Point3D(x=20, y=30, z=0), title="Rotation (deg)", description="About x, y, z."
    )
    scale: Point3D = Field(default_factory=lambda: Point3D(x=1, y=1, z=1), title="Scale")


def length2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(a * a + b * b)


def sdf_for(shape: Shape) -> Callable[[np.ndarray], np.ndarray]:
    """Signed distance (object space, shapes about 1.4 units across) for points of shape (n, 3)."""

    def cube(p: np.ndarray) -> np.ndarray:
        q = np.abs(p) - 0.65
        return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0)

    def sphere(p: np.ndarray) -> np.ndarray:
        return np.linalg.norm(p, axis=1) - 0.85

    def torus(p: np.ndarray) -> np.ndarray:
        return length2(length2(p[:, 0], p[:, 2]) - 0.6, p[:, 1]) - 0.25

    def cylinder(p: np.ndarray) -> np.ndarray:
        dx, dy = length2(p[:, 0], p[:, 2]) - 0.6, np.abs(p[:, 1]) - 0.7
        return np.minimum(np.maximum(dx, dy), 0) + length2(np.maximum(dx, 0), np.maximum(dy, 0))

    def cone(p: np.ndarray) -> np.ndarray:
        height, radius = 0.7, 0.7  # capped cone, base radius `radius` at y = -height, apex at y = +height
        qx, qy = length2(p[:, 0], p[:, 2]), p[:, 1]
        ca_x = qx - np.minimum(qx, np.where(qy < 0, radius, 0.0))
        ca_y = np.abs(qy) - height
        k2x, k2y = -radius, 2 * height
        t = np.clip(((0 - qx) * k2x + (height - qy) * k2y) / (k2x * k2x + k2y * k2y), 0, 1)
        cb_x, cb_y = qx + k2x * t, qy - height + k2y * t
        sign = np.where((cb_x < 0) & (ca_y < 0), -1.0, 1.0)
        return sign * np.sqrt(np.minimum(ca_x**2 + ca_y**2, cb_x**2 + cb_y**2))

    return {"cube": cube, "sphere": sphere, "torus": torus, "cylinder": cylinder, "cone": cone}[shape]


def rotation_matrix(degrees: Point3D) -> np.ndarray:
    """Rz · Ry · Rx for angles in degrees."""
    x, y, z = (math.radians(v) for v in (degrees.x, degrees.y, degrees.z))
    rx = np.array([[1, 0, 0], [0, math.cos(x), -math.sin(x)], [0, math.sin(x), math.cos(x)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(z), -math.sin(z), 0], [math.sin(z), math.cos(z), 0], [0, 0, 1]])
    return rz @ ry @ rx


def texture_coordinates(shape: Shape, p: np.ndarray, normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) in 0..1 for object-space hit points: spherical, toroidal, cylindrical or box projection."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    around = 0.5 + np.arctan2(x, z) / (2 * math.pi)
    if shape == "sphere":
        return around, 0.5 - np.arcsin(np.clip(y / np.linalg.norm(p, axis=1), -1, 1)) / math.pi
    if shape == "torus":
        return around, 0.5 + np.arctan2(y, length2(x, z) - 0.6) / (2 * math.pi)
    axis = np.abs(normal).argmax(axis=1)
    flat_u = np.select([axis == 0, axis == 1], [z * -np.sign(normal[:, 0]), x], x * np.sign(normal[:, 2]))
    flat_v = np.select([axis == 1], [z * np.sign(normal[:, 1])], -y)
    flat = (flat_u / 1.3 + 0.5, flat_v / 1.3 + 0.5)
    if shape == "cube":
        return flat
    caps = axis == 1
    return np.where(caps, flat[0], around), np.where(caps, flat[1], 0.5 - y / 1.4)


def render(params: Scene3dImageBrowserParams, texture: np.ndarray | None) -> Image.Image:
    ratio_w, ratio_h = (int(v) for v in params.aspect_ratio.split(":"))
    width, height = (
        (params.size, max(1, round(params.size * ratio_h / ratio_w)))
        if ratio_w >= ratio_h
        else (max(1, round(params.size * ratio_w / ratio_h)), params.size)
    )
    factor = 2 if max(width, height) <= SUPERSAMPLE_UP_TO else 1
    render_w, render_h = width * factor, height * factor
    short = min(render_w, render_h)
    ys, xs = np.mgrid[0:render_h, 0:render_w].astype(np.float64)
    u = (xs + 0.5 - render_w / 2) / (short / 2) * HALF_FOV_TAN
    v = -(ys + 0.5 - render_h / 2) / (short / 2) * HALF_FOV_TAN
    directions = np.stack([u.ravel(), v.ravel(), -np.ones(u.size)], axis=1)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)

    rotation = rotation_matrix(params.rotation)
    scale = np.array([params.scale.x, params.scale.y, params.scale.z], np.float64)
    scale = np.where(np.abs(scale) < 1e-3, 1e-3, scale)
    shift = np.array([params.offset.x, -params.offset.y, 0.0]) * CAMERA_DISTANCE * HALF_FOV_TAN
    origin = np.array([0.0, 0.0, CAMERA_DISTANCE])
    sdf = sdf_for(params.shape)

    def to_object(points: np.ndarray) -> np.ndarray:
        return ((points - shift) @ rotation) / scale

    def distance(points: np.ndarray) -> np.ndarray:
        return sdf(to_object(points)) * np.abs(scale).min()

    depth = np.full(len(directions), CAMERA_DISTANCE - 1.5 * np.abs(scale).max() - np.linalg.norm(shift))
    depth = np.maximum(depth, 0.0)
    hit = np.zeros(len(directions), bool)
    active = np.arange(len(directions))
    far = CAMERA_DISTANCE + 3 * np.abs(scale).max() + np.linalg.norm(shift)
    for _ in range(MAX_STEPS):
        if active.size == 0:
            break
        step = distance(origin + directions[active] * depth[active, None])
        depth[active] += step
        done = step < HIT_EPSILON
        hit[active[done]] = True
        active = active[~done & (depth[active] < far)]

    points = origin + directions[hit] * depth[hit, None]
    object_points = to_object(points)
    epsilon = 1e-3
    object_normal = (
        np.stack(
            [sdf(object_points + offset) - sdf(object_points - offset) for offset in np.eye(3) * epsilon],
            axis=1,
        )
        / scale
    )
    object_normal /= np.maximum(np.linalg.norm(object_normal, axis=1, keepdims=True), 1e-9)
    normal = object_normal @ rotation.T
    diffuse = np.clip(normal @ LIGHT, 0, 1)
    halfway = LIGHT + np.array([0, 0, 1.0])
    specular = np.clip(normal @ (halfway / np.linalg.norm(halfway)), 0, 1) ** 40

    albedo = np.broadcast_to(color_array(params.color).astype(np.float64), (len(points), 3))
    if texture is not None:
        tu, tv = texture_coordinates(params.shape, object_points, object_normal)
        th, tw = texture.shape[:2]
        texels = texture[
            np.clip((tv % 1) * th, 0, th - 1).astype(np.intp),
            np.clip((tu % 1) * tw, 0, tw - 1).astype(np.intp),
        ]
        albedo = albedo * texels
    shaded = albedo * (0.3 + 0.7 * diffuse[:, None]) + 0.25 * specular[:, None]

    background = parse_color(params.background)
    pixels = np.zeros((len(directions), 4))
    if params.show_background:
        pixels[:] = np.array(background, np.float64) / 255
    pixels[hit, :3] = shaded
    pixels[hit, 3] = 1.0
    data = np.clip(pixels.reshape(render_h, render_w, 4) * 255 + 0.5, 0, 255).astype(np.uint8)
    image = Image.fromarray(data, "RGBA")
    if factor > 1:
        image = image.convert("RGBa").resize((width, height), Image.Resampling.BOX).convert("RGBA")
    return image


def scene_texture(ctx: RunContext) -> np.ndarray | None:
    paths = ctx.input_paths("image")
    if not paths:
        return None
    return np.asarray(open_image(paths[0]).convert("RGB"), np.float64) / 255


@action(
    "scene-3d-image-browser",
    name="3D Scene",
    description="Renders a shaded cube, sphere, torus, cone or cylinder, textured with the input image.",
    inputs=[Slot("image", "image", optional=True)],
    outputs=[Slot("image", "image")],
    params=Scene3dImageBrowserParams,
    language="javascript",
    estimated_seconds=3,
)
def scene_3d_image(ctx: RunContext, params: Scene3dImageBrowserParams) -> None:
    texture = scene_texture(ctx)
    ctx.progress(10)
    save_png(ctx, render(params, texture))
