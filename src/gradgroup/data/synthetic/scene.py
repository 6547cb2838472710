"""Layout of one synthetic street scene: where the road, sidewalks, facades and objects go.

The layout follows what dominates Cityscapes: a road receding to a vanishing point, sidewalks and facades
on both sides (sometimes a park side with terrain, trees and a fence or wall instead), parked and moving
traffic, pedestrians, poles carrying signs and lights, and the void regions of real annotations (ego hood,
out-of-ROI border, static clutter, ground patches). Rare classes (train, bus, motorcycle, rider) get lower
probabilities so the class imbalance resembles the real data, though not so low that a short run never
sees them. Objects are drawn far to near, so nearer ones occlude farther ones exactly as in the label map.
"""

from __future__ import annotations

import numpy as np

from . import canvas as C
from . import objects as O

_FACADE = np.array([(200, 190, 170), (150, 150, 150), (225, 220, 210), (160, 90, 70), (210, 195, 140),
                    (120, 115, 110), (185, 160, 140)], dtype=float)


def _sky(rng, h, w):
    """Background image: a vertical sky gradient, clear blue or overcast grey."""
    top = np.array((70, 120, 190) if rng.random() < .8 else (165, 180, 200), float) + rng.normal(0, 8, 3)
    bottom = np.clip(top + rng.uniform(40, 80), 0, 255)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to((top * (1 - t) + bottom * t), (h, w, 3)).astype(np.uint8)


def _facades(cv, rng, xb, side, zfar):
    """Building fronts along the plane X=xb between depth 1 and ``zfar``, with window grids and gaps."""
    z, inward = 1.0, -side * 0.2
    while z < zfar:
        length = rng.uniform(8, 28)
        if rng.random() < .15:  # gap between buildings: ground and trees behind the building line show
            O.tree(cv, rng, xb + side * rng.uniform(2, 6), z + length / 2)
            z += length
            continue
        height = rng.uniform(8, 26)
        color = C.jitter(rng, _FACADE[rng.integers(len(_FACADE))], 15)
        pl = cv.plane((xb, z), "z")
        cv.poly_in(pl, [(0, 0), (0, height), (length, height), (length, 0)], color, C.BUILDING)
        glass = C.jitter(rng, (60, 70, 85), 20)
        fh, ww = rng.uniform(2.8, 3.6), rng.uniform(1.0, 1.6)
        step = ww + rng.uniform(1.0, 2.0)
        if cv.px(ww, z + length) >= 1.0:  # windows are still building; skip those below one pixel
            for y0 in np.arange(fh * .35 + (1.2 if rng.random() < .5 else 0), height - 1.5, fh):
                for u in np.arange(.6, length - ww - .3, step):
                    cv.poly_in(pl, [(u, y0), (u, y0 + fh * .5), (u + ww, y0 + fh * .5), (u + ww, y0)], glass, None)
        # the near edge of a facade hides a side wall that recedes toward the street: keeps depth cues
        cv.poly([(xb, 0, z), (xb, height, z), (xb + inward, height, z), (xb + inward, 0, z)], color, C.BUILDING)
        z += length


def _fence(cv, rng, x, z0, z1, h):
    """Posts, rails and thin slats along X=x: a thin, see-through class that needs resolution."""
    color = C.jitter(rng, (150, 120, 85) if rng.random() < .4 else (95, 120, 100), 10)
    for z in np.arange(z0, z1, 2.5):
        O.pole(cv, rng, x, z, h, label=C.FENCE)
    for y in (h * .15, h * .9):
        cv.band((x, y, z0), (x, y, z1), .1, color, C.FENCE, axis="y")
    for z in np.arange(z0, z1, rng.uniform(.12, .2)):
        cv.line((x, h * .12, z), (x, h * .92, z), .06, color, C.FENCE)


def _wall(cv, rng, x, z0, z1, h):
    color = C.jitter(rng, (175, 170, 160) if rng.random() < .6 else (130, 125, 118), 8)  # concrete
    cv.poly([(x, 0, z0), (x, h, z0), (x, h, z1), (x, 0, z1)], color, C.WALL)
    cv.band((x, h, z0), (x, h, z1), .12, C.jitter(rng, color, 20), C.WALL, axis="y")  # coping stone


def _pole_group(cv, rng, x, z, side):
    """A pole with what Cityscapes hangs on poles: signs, traffic lights, or a street lamp arm."""
    h = rng.uniform(3.5, 7.0)
    O.pole(cv, rng, x, z, h)
    kind = rng.random()
    if kind < .45:
        for k in range(rng.integers(1, 3)):
            O.sign(cv, rng, x, h - .5 - k * 1.0, z - .05)
    elif kind < .7:
        O.traffic_light(cv, rng, x, h - 1.0, z - .05)
    elif kind < .88:  # overhanging arm with a light above the road
        arm = x - side * rng.uniform(2.5, 5)
        cv.line((x, h, z), (arm, h, z), .1, (120, 120, 120), C.POLE)
        O.traffic_light(cv, rng, arm, h - .95, z)
    elif kind < .95:
        cv.line((x, h, z), (x - side * 1.5, h + .3, z), .08, (120, 120, 120), C.POLE)


def compose(rng, h, w):
    """Draw one scene; returns (RGB Image, labelId Image, shadow mask Image)."""
    cv = C.Canvas(rng, h, w, _sky(rng, h, w))
    zfar = rng.uniform(90, 160)
    left, right = -rng.uniform(2.5, 7), rng.uniform(2.5, 7)
    walk = {s: rng.uniform(4.5, 9.0) for s in (-1, 1)}
    verge = {s: rng.uniform(1.5, 3) if rng.random() < .7 else 0 for s in (-1, 1)}
    edge = {-1: left, 1: right}
    xb = {s: edge[s] + s * (verge[s] + walk[s]) for s in (-1, 1)}
    park = {s: rng.random() < .25 for s in (-1, 1)}

    # Far end of the street: a skyline of distant buildings and trees, then the ground plane.
    for _ in range(rng.integers(6, 14)):
        x0, bw, bh = rng.uniform(-80, 80), rng.uniform(8, 30), rng.uniform(5, 40)
        if rng.random() < .35:
            O.tree(cv, rng, x0, zfar + 20, size=rng.uniform(1.5, 3))
        else:
            cv.poly([(x0, 0, zfar + 20), (x0, bh, zfar + 20), (x0 + bw, bh, zfar + 20), (x0 + bw, 0, zfar + 20)],
                    C.jitter(rng, _FACADE[rng.integers(len(_FACADE))], 20), C.BUILDING)
    grass = C.jitter(rng, C.GRASS, 8)
    cv.poly([(-400, 0, zfar + 20), (400, 0, zfar + 20), (400, 0, .35), (-400, 0, .35)], grass, C.TERRAIN)
    pave = C.jitter(rng, (185, 180, 172) if rng.random() < .7 else (175, 140, 125), 8)
    for s in (-1, 1):
        outer = xb[s] if not park[s] else xb[s] + s * rng.uniform(0, 10)
        cv.poly([(edge[s], 0, .4), (edge[s], 0, zfar), (outer, 0, zfar), (outer, 0, .4)], pave, C.SIDEWALK)
        if verge[s]:
            v1 = edge[s] + s * verge[s]
            cv.poly([(edge[s], 0, .4), (edge[s], 0, zfar), (v1, 0, zfar), (v1, 0, .4)], grass, C.TERRAIN)
        for _ in range(rng.integers(0, 3)):  # void clutter on the pavement: 'ground' patches
            gz, gx = rng.uniform(3, 40), xb[s] - s * rng.uniform(.2, 1.5)
            cv.poly(C.ground(gx, xb[s], gz, gz + 3), C.jitter(rng, (120, 100, 80), 20), C.GROUND)
    asphalt = C.jitter(rng, (100, 98, 102), 10)
    cv.poly([(left, 0, .4), (left, 0, zfar), (right, 0, zfar), (right, 0, .4)], asphalt, C.ROAD)
    for s in (-1, 1):  # curb line and, sometimes, a parking lane (void in Cityscapes evaluation)
        cv.band((edge[s] + s * .08, 0, .6), (edge[s] + s * .08, 0, zfar), .15, C.jitter(rng, pave, 25), C.SIDEWALK)
        if rng.random() < .2:
            cv.poly(C.ground(edge[s], edge[s] - s * 1.8, 6, 40), C.jitter(rng, asphalt, 8), C.PARKING)
    lane = rng.uniform(left + 2, right - 2) if right - left > 6 else None
    if lane is not None:
        for z in np.arange(rng.uniform(1, 4), zfar, 9):
            cv.poly(C.ground(lane - .07, lane + .07, z, z + 3), (215, 215, 205), C.ROAD)
    if rng.random() < .25:  # zebra crossing
        cz = rng.uniform(8, 30)
        for x in np.arange(left + .3, right, 1.0):
            cv.poly(C.ground(x, x + .5, cz, cz + 3), (215, 215, 210), C.ROAD)

    # Building line: facades, or a park side (trees behind a fence/wall); low walls and fences in front.
    for s in (-1, 1):
        if park[s]:
            for z in np.arange(rng.uniform(2, 8), zfar, rng.uniform(5, 12)):
                O.tree(cv, rng, xb[s] + s * rng.uniform(1, 12), z, size=rng.uniform(.8, 1.6))
        else:
            _facades(cv, rng, xb[s], s, zfar)
        if rng.random() < (.9 if park[s] else .85):
            z0 = rng.uniform(1, 10)
            z1, fh = z0 + rng.uniform(25, 60), rng.uniform(1.6, 3.0)
            (_fence if rng.random() < .55 else _wall)(cv, rng, xb[s] - s * .1, z0, z1, fh)
        if rng.random() < .25:  # hedge along the building line
            z0 = rng.uniform(2, 25)
            hedge = cv.plane((xb[s] - s * .3, z0), "z")
            cv.poly_in(hedge, C.rect(0, 0, 10, 1.2), C.jitter(rng, (50, 80, 35), 12), C.VEG)

    # Everything that stands on the ground, collected with its depth and drawn far to near.
    items = []
    add = lambda z, fn, *a, **k: items.append((z, len(items), fn, a, k))  # noqa: E731 - index breaks ties stably
    tram = rng.random() < .2
    for s in (-1, 1):
        curb = edge[s] + s * (verge[s] + .4)
        for z in np.arange(rng.uniform(3, 8), 90, rng.uniform(6, 14)):
            add(z, _pole_group, cv, rng, curb + s * rng.uniform(0, .3), z, s)
        if rng.random() < .6:
            for z in np.arange(rng.uniform(4, 12), 70, rng.uniform(8, 16)):
                x = edge[s] + s * (verge[s] + walk[s] * rng.uniform(.3, .7))
                add(z, O.tree, cv, rng, x, z, rng.uniform(.7, 1.2))
        if rng.random() < .45:  # parked cars along the curb, occasionally a van/truck
            z = rng.uniform(3, 12)
            while z < 60:
                kind = "truck" if rng.random() < .06 else "car"
                add(z, O.vehicle, cv, rng, kind, edge[s] - s * 1.1, z)
                z += rng.uniform(5, 12) if kind == "car" else rng.uniform(11, 15)
        for _ in range(rng.poisson(6)):
            z, x = rng.uniform(5, 28), edge[s] + s * (verge[s] + rng.uniform(.4, walk[s] - .3))
            for k in range(rng.integers(1, 4)):
                mode = "side" if rng.random() < .6 else "front"
                pl = cv.plane((x + s * .6 * k, z + .4 * k), "z" if mode == "side" else "x")
                add(z + .4 * k, O.person, cv, rng, pl, rng.uniform(1.55, 1.95), mode)
        if rng.random() < .6:  # parked bicycles, sometimes a parked motorcycle
            z = rng.uniform(8, 25)
            for k in range(rng.integers(1, 6)):
                kind = "motorcycle" if rng.random() < .25 else "bicycle"
                add(z + .7 * k, O.bike, cv, rng, edge[s] + s * (verge[s] + .7), z + .7 * k, kind, False, 1)
        for _ in range(rng.poisson(.8)):  # void 'static' clutter: bins, bollards, boxes
            z, x = rng.uniform(3, 40), edge[s] + s * (verge[s] + rng.uniform(.3, walk[s]))
            box = C.rect(0, 0, rng.uniform(.3, .9), rng.uniform(.5, 1.2))
            add(z, cv.poly_in, cv.plane((x, z), "x"), box, C.jitter(rng, (90, 90, 90), 50), C.STATIC)
    lanes = np.linspace(left + 1.6, right - 1.6, max(1, int((right - left) // 3.3)))
    for _ in range(rng.poisson(2.4)):  # moving traffic, seen mostly from behind
        z, x, r = rng.uniform(7, 60), rng.choice(lanes) + rng.normal(0, .3), rng.random()
        if r < .55:
            add(z, O.vehicle, cv, rng, "car", x, z)
        elif r < .67:
            add(z, O.vehicle, cv, rng, "truck", x, z)
        elif r < .80:
            add(z, O.vehicle, cv, rng, "bus", x, z)
        else:
            add(z, O.bike, cv, rng, x, z, "motorcycle", True, rng.choice((-1, 1)))
    for s in (-1, 1):  # cyclists in the bike lane next to the curb
        for _ in range(rng.poisson(1.4)):
            z = rng.uniform(4, 25)
            add(z, O.bike, cv, rng, edge[s] - s * .7, z, "bicycle", True, rng.choice((-1, 1)))
    if rng.random() < .3:  # pedestrians crossing the road
        z = rng.uniform(6, 25)
        for k in range(rng.integers(1, 5)):
            x = rng.uniform(left, right)
            add(z + .3 * k, O.person, cv, rng, cv.plane((x, z + .3 * k), "x"), rng.uniform(1.55, 1.95), "front")
    if tram:
        tx, tz = rng.uniform(left + 1.5, right - 1.5), rng.uniform(8, 35)
        for r in (-.72, .72):  # rails embedded in the road are labelled road
            cv.band((tx + r, 0, .5), (tx + r, 0, zfar), .07, (150, 150, 155), C.ROAD)
        add(tz, O.vehicle, cv, rng, "train", tx, tz)
    for _, _, fn, a, k in sorted(items, key=lambda t: (-t[0], t[1])):
        fn(*a, **k)

    # Ego-vehicle hood at the bottom and a cast shadow band over the street.
    if rng.random() < .75:
        top = h * (1 - rng.uniform(.04, .10))
        box = [-.2 * w, top, 1.2 * w, h + (h - top) * 1.5]
        hood = C.jitter(rng, (40, 40, 45), 15)
        cv._di.ellipse(box, fill=hood)
        cv._dl.ellipse(box, fill=C.EGO)
    if rng.random() < .5:
        s, zs = rng.choice((-1, 1)), rng.uniform(5, 40)
        xs = rng.uniform(left, right)
        band = [(xb[s], 0, zs), (xb[s], 0, zs + rng.uniform(5, 30)), (xs, 0, zs + 10), (xs, 0, zs)]
        cv.shade(band, rng.uniform(60, 120))
    return cv.img, cv.lab, cv.shadow
