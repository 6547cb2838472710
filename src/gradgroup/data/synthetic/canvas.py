"""Camera and paired drawing surfaces of the synthetic Cityscapes generator, and the labelIds it draws.

A ``Canvas`` holds a pinhole camera over a flat ground plane and draws every primitive twice, into an RGB
image and into a labelId image (the encoding of Cityscapes ``gtFine *_labelIds.png``), so image and label
can never disagree. Shapes are given in metres in 3D and projected, which gives perspective size,
foreshortening and thin far structures for free.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from ..labels import NAME_TO_LABEL_ID as _ID

ROAD, SIDEWALK, PARKING, BUILDING, WALL, FENCE = (_ID[n] for n in ("road", "sidewalk", "parking", "building",
                                                                   "wall", "fence"))
POLE, LIGHT, SIGN, VEG, TERRAIN, SKY = (_ID[n] for n in ("pole", "traffic light", "traffic sign", "vegetation",
                                                         "terrain", "sky"))
PERSON, RIDER, CAR, TRUCK, BUS, TRAIN = (_ID[n] for n in ("person", "rider", "car", "truck", "bus", "train"))
MOTO, BICYCLE = _ID["motorcycle"], _ID["bicycle"]
UNLABELED, EGO, RECT_BORDER, OUT_OF_ROI, STATIC, DYNAMIC, GROUND = 0, 1, 2, 3, 4, 5, 6
GLASS = (38, 46, 58)
GRASS = (140, 150, 75)  # terrain: a yellow-green, lighter and browner than foliage
TYRE = (22, 22, 24)


def jitter(rng, rgb, amount=12.0):
    """Colour tuple near ``rgb``: per-instance variation so no two objects share an exact colour."""
    return tuple(int(v) for v in np.clip(np.asarray(rgb, float) + rng.normal(0, amount, 3), 0, 255))


def rect(u0, y0, u1, y1):
    """Axis-aligned rectangle in a drawing plane's (u, y) coordinates."""
    return [(u0, y0), (u0, y1), (u1, y1), (u1, y0)]


def ground(x0, x1, z0, z1):
    """Rectangle on the ground plane (Y=0) between lateral x0..x1 and depth z0..z1."""
    return [(x0, 0, z0), (x0, 0, z1), (x1, 0, z1), (x1, 0, z0)]


def circle(cu, cy, r, n=10):
    return [(cu + r * math.cos(2 * math.pi * k / n), cy + r * math.sin(2 * math.pi * k / n)) for k in range(n)]


class Canvas:
    """Camera + paired RGB/label drawing surfaces. X right, Y up, Z forward, all in metres."""

    def __init__(self, rng, h, w, background):
        self.h, self.w = h, w
        self.horizon = h * rng.uniform(0.36, 0.47)
        self.xv = w * rng.uniform(0.4, 0.6)  # vanishing point: the street is not always straight ahead
        self.f = w * rng.uniform(1.0, 1.25)
        self.cam_h = rng.uniform(1.2, 1.5)
        self.img = Image.fromarray(background)
        self.lab = Image.new("L", (w, h), SKY)
        self.shadow = Image.new("L", (w, h), 0)  # image-only darkening mask, applied in post-processing
        self._di, self._dl, self._ds = ImageDraw.Draw(self.img), ImageDraw.Draw(self.lab), ImageDraw.Draw(self.shadow)

    def p(self, x, y, z):
        z = max(z, 0.3)
        return (self.xv + self.f * x / z, self.horizon + self.f * (self.cam_h - y) / z)

    def px(self, metres, z):
        return self.f * metres / max(z, 0.3)

    def poly(self, pts, color, label):
        """Filled polygon from 3D points; ``color``/``label`` None skips that surface."""
        xy = [self.p(*q) for q in pts]
        if color is not None:
            self._di.polygon(xy, fill=color)
        if label is not None:
            self._dl.polygon(xy, fill=label)

    def shade(self, pts, strength):
        self._ds.polygon([self.p(*q) for q in pts], fill=int(strength))

    def line(self, a, b, width_m, color, label):
        """Thick 3D segment; at least 1 px wide so far poles and bike frames stay visible but thin."""
        wpx = max(1, round(self.px(width_m, min(a[2], b[2]))))
        xy = [self.p(*a), self.p(*b)]
        if color is not None:
            self._di.line(xy, fill=color, width=wpx)
        if label is not None:
            self._dl.line(xy, fill=label, width=wpx)

    def band(self, a, b, width_m, color, label, axis="x"):
        """Receding segment as a quad offset along X (on the ground) or Y (on a wall): unlike ``line``,
        its width shrinks with depth along its length."""
        d = (width_m / 2, 0, 0) if axis == "x" else (0, width_m / 2, 0)
        ends = ((a, 1), (b, 1), (b, -1), (a, -1))
        self.poly([tuple(p + s * q for p, q in zip(pt, d)) for pt, s in ends], color, label)

    def plane(self, origin, axis):
        """Map 2D (u, y) in a vertical plane to 3D: axis 'x' faces the camera, 'z' is side-on."""
        x0, z0 = origin
        return (lambda u, y: (x0 + u, y, z0)) if axis == "x" else (lambda u, y: (x0, y, z0 + u))

    def poly_in(self, pl, pts, color, label):
        self.poly([pl(u, y) for u, y in pts], color, label)

    def limb(self, pl, a, b, width, color, label):
        """Thick segment as a polygon in a plane, so its width foreshortens with the plane."""
        du, dy = b[0] - a[0], b[1] - a[1]
        n = math.hypot(du, dy) or 1.0
        ou, oy = -dy / n * width / 2, du / n * width / 2
        corners = [(a[0] + ou, a[1] + oy), (b[0] + ou, b[1] + oy), (b[0] - ou, b[1] - oy), (a[0] - ou, a[1] - oy)]
        self.poly_in(pl, corners, color, label)

