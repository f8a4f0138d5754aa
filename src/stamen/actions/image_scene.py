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

from stamen.actions.registry import IMAGE_OUT, ActionParams, Color, Point2D, Point3D, Slot, action
from stamen.execution.context import RunContext
from stamen.media.images import color_array, open_image, parse_color, save_png

Shape = Literal["cube", "sphere", "torus", "cone", "cylinder"]
CAMERA_DISTANCE = 4.0
HALF_FOV_TAN = 0.4
MAX_STEPS = 64
HIT_EPSILON = 1e-3
LIGHT = np.array([-0.4, 0.7, 0.6]) / np.linalg.norm([-0.4, 0.7, 0.6])
BOUNDING_RADIUS = 1.2  # every shape fits inside this sphere in object space
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


Distance = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def sdf_for(shape: Shape) -> Distance:
    """Signed distance in object space (shapes about 1.4 units across) for coordinate arrays x, y, z."""

    def cube(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        qx, qy, qz = np.abs(x) - 0.65, np.abs(y) - 0.65, np.abs(z) - 0.65
        outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2 + np.maximum(qz, 0) ** 2)
        return outside + np.minimum(np.maximum(np.maximum(qx, qy), qz), 0)

    def sphere(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return np.sqrt(x * x + y * y + z * z) - 0.85

    def torus(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return length2(length2(x, y) - 0.6, z) - 0.25  # ring in the xy plane, facing the camera

    def cylinder(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        dx, dy = length2(x, z) - 0.6, np.abs(y) - 0.7
        return np.minimum(np.maximum(dx, dy), 0) + length2(np.maximum(dx, 0), np.maximum(dy, 0))

    def cone(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        height, radius = 0.7, 0.7  # capped cone, base radius `radius` at y = -height, apex at y = +height
        qx, qy = length2(x, z), y
        ca_x = qx - np.minimum(qx, np.where(qy < 0, radius, 0.0))
        ca_y = np.abs(qy) - height
        k2x, k2y = -radius, 2 * height
        t = np.clip((-qx * k2x + (height - qy) * k2y) / (k2x * k2x + k2y * k2y), 0, 1)
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
        return 0.5 + np.arctan2(y, x) / (2 * math.pi), 0.5 + np.arctan2(z, length2(x, y) - 0.6) / (
            2 * math.pi
        )
    axis = np.abs(normal).argmax(axis=1)
    flat_u = np.select([axis == 0, axis == 1], [z * -np.sign(normal[:, 0]), x], x * np.sign(normal[:, 2]))
    flat_v = np.select([axis == 1], [z * np.sign(normal[:, 1])], -y)
    flat = (flat_u / 1.3 + 0.5, flat_v / 1.3 + 0.5)
    if shape == "cube":
        return flat
    caps = axis == 1
    return np.where(caps, flat[0], around), np.where(caps, flat[1], 0.5 - y / 1.4)


def output_size(params: Scene3dImageBrowserParams) -> tuple[int, int]:
    ratio_w, ratio_h = (int(v) for v in params.aspect_ratio.split(":"))
    if ratio_w >= ratio_h:
        return params.size, max(1, round(params.size * ratio_h / ratio_w))
    return max(1, round(params.size * ratio_w / ratio_h)), params.size


def render(params: Scene3dImageBrowserParams, texture: np.ndarray | None) -> Image.Image:
    width, height = output_size(params)
    factor = 2 if max(width, height) <= SUPERSAMPLE_UP_TO else 1
    render_w, render_h = width * factor, height * factor
    short = min(render_w, render_h)
    rotation = rotation_matrix(params.rotation)
    scale = np.array([params.scale.x, params.scale.y, params.scale.z], np.float64)
    scale = np.where(np.abs(scale) < 1e-3, 1e-3, scale)
    shift = np.array([params.offset.x, -params.offset.y, 0.0]) * CAMERA_DISTANCE * HALF_FOV_TAN
    origin = np.array([0.0, 0.0, CAMERA_DISTANCE])
    sdf = sdf_for(params.shape)

    # camera rays (unit directions); those missing the bounding sphere are background without marching
    ys, xs = np.mgrid[0:render_h, 0:render_w].astype(np.float32)
    ray_x = ((xs.ravel() + 0.5 - render_w / 2) * (2 * HALF_FOV_TAN / short)).astype(np.float32)
    ray_y = (-(ys.ravel() + 0.5 - render_h / 2) * (2 * HALF_FOV_TAN / short)).astype(np.float32)
    inverse_length = 1 / np.sqrt(ray_x * ray_x + ray_y * ray_y + 1)
    to_center = shift - origin
    along = (ray_x * to_center[0] + ray_y * to_center[1] - to_center[2]) * inverse_length
    bound = BOUNDING_RADIUS * np.abs(scale).max()
    miss = along**2 - (to_center @ to_center - bound**2)
    active = np.nonzero(miss > 0)[0]
    depth = np.maximum(along[active] - np.sqrt(miss[active]), 0.0).astype(np.float32)
    world = np.stack([ray_x[active], ray_y[active], -np.ones(active.size, np.float32)], axis=1)
    world *= inverse_length[active, None]

    # march in object space: point = start + depth · direction, depth in world units
    start = ((origin - shift) @ rotation) / scale
    directions = ((world @ rotation) / scale).astype(np.float32)
    world_per_object = float(np.abs(scale).min())
    far = np.linalg.norm(to_center) + bound
    pixel_angle = 2 * HALF_FOV_TAN / short
    index = np.arange(active.size)
    dx, dy, dz = directions[:, 0].copy(), directions[:, 1].copy(), directions[:, 2].copy()
    hits: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(MAX_STEPS):
        if index.size == 0:
            break
        step = sdf(start[0] + depth * dx, start[1] + depth * dy, start[2] + depth * dz) * world_per_object
        depth += step
        done = step < np.maximum(HIT_EPSILON, 0.5 * pixel_angle * depth)
        hits.append((index[done], depth[done]))
        keep = ~done & (depth < far)
        index, depth, dx, dy, dz = index[keep], depth[keep], dx[keep], dy[keep], dz[keep]

    hit = np.concatenate([h[0] for h in hits]) if hits else np.zeros(0, np.intp)
    hit_depth = np.concatenate([h[1] for h in hits]) if hits else np.zeros(0, np.float32)
    shaded = shade(params, texture, sdf, start + directions[hit] * hit_depth[:, None], rotation, scale)

    background = parse_color(params.background) if params.show_background else (0, 0, 0, 0)
    pixels = np.empty((render_h * render_w, 4), np.uint8)
    pixels[:] = background
    pixels[active[hit], :3] = np.clip(shaded * 255 + 0.5, 0, 255).astype(np.uint8)
    pixels[active[hit], 3] = 255
    image = Image.fromarray(pixels.reshape(render_h, render_w, 4), "RGBA")
    if factor > 1:
        image = image.convert("RGBa").resize((width, height), Image.Resampling.BOX).convert("RGBA")
    return image


def shade(
    params: Scene3dImageBrowserParams,
    texture: np.ndarray | None,
    sdf: Distance,
    points: np.ndarray,
    rotation: np.ndarray,
    scale: np.ndarray,
) -> np.ndarray:
    """Colour (n, 3) in 0..1 for object-space surface points: texture × colour, Lambert + specular."""
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    epsilon = 1e-3
    gradient = np.stack(
        [
            sdf(x + epsilon, y, z) - sdf(x - epsilon, y, z),
            sdf(x, y + epsilon, z) - sdf(x, y - epsilon, z),
            sdf(x, y, z + epsilon) - sdf(x, y, z - epsilon),
        ],
        axis=1,
    )
    object_normal = gradient / np.maximum(np.linalg.norm(gradient, axis=1, keepdims=True), 1e-9)
    normal = (object_normal / scale) @ rotation.T
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    diffuse = np.clip(normal @ LIGHT, 0, 1)
    halfway = LIGHT + np.array([0, 0, 1.0])
    specular = np.clip(normal @ (halfway / np.linalg.norm(halfway)), 0, 1) ** 40
    albedo = np.broadcast_to(color_array(params.color).astype(np.float64), (len(points), 3))
    if texture is not None:
        u, v = texture_coordinates(params.shape, points, object_normal)
        rows, columns = texture.shape[:2]
        texels = texture[
            np.clip((v % 1) * rows, 0, rows - 1).astype(np.intp),
            np.clip((u % 1) * columns, 0, columns - 1).astype(np.intp),
        ]
        albedo = albedo * texels
    return albedo * (0.3 + 0.7 * diffuse[:, None]) + 0.25 * specular[:, None]


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
    outputs=IMAGE_OUT,
    params=Scene3dImageBrowserParams,
    language="javascript",
    estimated_seconds=3,
)
def scene_3d_image(ctx: RunContext, params: Scene3dImageBrowserParams) -> None:
    texture = scene_texture(ctx)
    ctx.progress(10)
    save_png(ctx, render(params, texture))
