"""Street objects of the synthetic Cityscapes generator: vehicles, people and bikes, poles, signs, trees.

Objects are defined in metres in 3D on a ``canvas.Canvas``. Vehicles share one body-paint distribution and
people one clothing distribution: classes must be told apart by silhouette, size and context (rider =
person on a bike), never by colour alone, as in Cityscapes.
"""

from __future__ import annotations

import numpy as np

from .canvas import (BICYCLE, BUS, CAR, GLASS, LIGHT, MOTO, PERSON, POLE, RIDER, SIGN, TRAIN, TRUCK, TYRE, VEG,
                     circle, ground, jitter, rect)

# One paint distribution for every vehicle class, so colour carries no class information.
_PAINT = np.array([(235, 235, 232), (185, 188, 192), (115, 118, 122), (32, 33, 36), (28, 44, 92), (150, 28, 26),
                   (198, 186, 156), (215, 175, 40), (38, 88, 58), (70, 110, 170), (95, 60, 40)], dtype=float)
_CLOTH = np.array([(25, 25, 30), (60, 60, 70), (30, 40, 90), (140, 30, 35), (200, 200, 195), (120, 100, 70),
                   (70, 95, 60), (170, 120, 60), (90, 50, 110), (150, 150, 155)], dtype=float)
_SKIN = np.array([(225, 185, 160), (190, 140, 105), (120, 80, 55), (240, 205, 180)], dtype=float)


def paint(rng):
    return jitter(rng, _PAINT[rng.integers(len(_PAINT))], 14)


# Public transport runs in a city's fleet colours (a few liveries, mostly), private vehicles in any colour:
# colour is a hint for bus and tram, never the whole story (a quarter of them wear any paint).
_LIVERY = {"bus": np.array([(225, 190, 40), (200, 40, 40), (235, 235, 230)], dtype=float),
           "train": np.array([(235, 235, 225), (230, 200, 50)], dtype=float)}


def body_paint(rng, kind):
    fleet = _LIVERY.get(kind)
    if fleet is None or rng.random() < .25:
        return paint(rng)
    return jitter(rng, fleet[rng.integers(len(fleet))], 10)


def cloth(rng):
    return jitter(rng, _CLOTH[rng.integers(len(_CLOTH))], 14)


# ----------------------------------------------------------------------------------------------- vehicles
def _wheels(cv, pl, us, r, label):
    for u in us:
        cv.poly_in(pl, circle(u, r, r), TYRE, label)
        cv.poly_in(pl, circle(u, r, r * 0.45, 6), (95, 95, 100), None)


def vehicle(cv, rng, kind, x, z, length=None):
    """Box-like vehicle whose near face is at depth ``z``, centred laterally at ``x``, extending away."""
    label = {"car": CAR, "truck": TRUCK, "bus": BUS, "train": TRAIN}[kind]
    body, w = body_paint(rng, kind), {"car": 1.8, "truck": 2.45, "bus": 2.55, "train": 2.65}[kind]
    h = {"car": rng.uniform(1.4, 1.65), "truck": rng.uniform(2.9, 3.7), "bus": rng.uniform(3.0, 3.3),
         "train": rng.uniform(3.4, 3.8)}[kind]
    length = length or {"car": rng.uniform(3.8, 4.8), "truck": rng.uniform(6, 10), "bus": rng.uniform(10.5, 13),
                        "train": rng.uniform(22, 36)}[kind]
    cv.shade(ground(x - w / 2 - .2, x + w / 2 + .2, z - .3, z + length), 150)  # contact shadow
    # The side facing the optical axis is visible unless the vehicle straddles it.
    if abs(x) > w / 2:
        side = cv.plane((x - np.sign(x) * w / 2, z), "z")
        _side(cv, rng, side, kind, length, h, body, label)
    rear = cv.plane((x, z), "x")
    _rear(cv, rng, rear, kind, w, h, body, label)


def _side(cv, rng, pl, kind, length, h, body, label):
    L = length
    if kind == "car":
        cab0, cab1 = L * rng.uniform(0.18, 0.28), L * rng.uniform(0.68, 0.8)
        cv.poly_in(pl, [(0, .3), (0, .95), (cab0 - .4, 1.0), (cab0, h), (cab1, h), (cab1 + .5, 1.0), (L, .95),
                        (L, .3)], body, label)
        cv.poly_in(pl, [(cab0 - .25, 1.02), (cab0 + .05, h - .08), (cab1 - .05, h - .08), (cab1 + .35, 1.02)],
                   GLASS, None)
        _wheels(cv, pl, (0.75, L - 0.8), 0.32, label)
    elif kind == "truck":
        cab = rng.uniform(1.8, 2.4)
        box_color = body if rng.random() < .4 else paint(rng)
        cv.poly_in(pl, [(0, .5), (0, h), (L - cab - .2, h), (L - cab - .2, .5)], box_color, label)
        cv.poly_in(pl, [(L - cab, .5), (L - cab, h * .82), (L - .3, h * .82), (L, h * .55), (L, .5)], body, label)
        cv.poly_in(pl, [(L - cab * .6, h * .55), (L - cab * .6, h * .78), (L - .35, h * .78), (L - .1, h * .58)],
                   GLASS, None)
        _wheels(cv, pl, (1.0, 2.1, L - 1.2), 0.5, label)
    elif kind == "bus":
        cv.poly_in(pl, [(0, .35), (0, h - .2), (.3, h), (L - .3, h), (L, h - .2), (L, .35)], body, label)
        cv.poly_in(pl, rect(.4, 1.3, L - .4, h - .45), GLASS, None)  # one continuous window row
        for u in np.arange(1.6, L - .5, rng.uniform(1.3, 1.7)):
            cv.limb(pl, (u, 1.3), (u, h - .45), .12, body, None)
        _wheels(cv, pl, (2.6, L - 3.0), 0.5, label)
    else:  # train / tram: long, skirted, many separate windows, cars joined by dark gaps
        ncar = max(1, int(L // rng.uniform(9, 13)))
        seg = L / ncar
        stripe = paint(rng)
        for k in range(ncar):
            u0, u1 = k * seg + .15, (k + 1) * seg - .15
            cv.poly_in(pl, [(u0, .3), (u0, h - .3), (u0 + .4, h), (u1 - .4, h), (u1, h - .3), (u1, .3)], body, label)
            cv.poly_in(pl, rect(u0, .45, u1, .75), stripe, None)
            for u in np.arange(u0 + .8, u1 - .8, 1.6):
                cv.poly_in(pl, rect(u, 1.25, u + 1.1, h - .6), GLASS, None)
        cv.limb(pl, (seg * .5, h), (seg * .5 + 1.0, h + .7), .06, (40, 40, 40), label)  # pantograph


def _rear(cv, rng, pl, kind, w, h, body, label):
    hw = w / 2
    if kind == "car":
        cv.poly_in(pl, [(-hw, .3), (-hw, 1.0), (-hw + .2, h), (hw - .2, h), (hw, 1.0), (hw, .3)], body, label)
        cv.poly_in(pl, [(-hw + .3, 1.05), (-hw + .4, h - .08), (hw - .4, h - .08), (hw - .3, 1.05)], GLASS, None)
        for s in (-1, 1):
            cv.poly_in(pl, rect(s * (hw - .05), .8, s * (hw - .35), .95), (200, 30, 30), None)  # tail light
            cv.poly_in(pl, rect(s * (hw - .1), 0, s * (hw - .35), .3), TYRE, label)
        cv.poly_in(pl, rect(-.25, .45, .25, .57), (225, 225, 220), None)  # number plate (car in labelIds)
        return
    top = h - (.25 if kind in ("bus", "train") else 0)
    cv.poly_in(pl, [(-hw, .35), (-hw, top), (-hw + .2, h), (hw - .2, h), (hw, top), (hw, .35)], body, label)
    if kind == "truck":  # a plain tall box rear with door seams, no window: the truck cue from behind
        cv.limb(pl, (0, .6), (0, h - .1), .05, (60, 60, 60), None)
    else:  # bus and train: big windscreen
        cv.poly_in(pl, [(-hw + .2, 1.4), (-hw + .25, h - .4), (hw - .25, h - .4), (hw - .2, 1.4)], GLASS, None)
    for s in (-1, 1):
        cv.poly_in(pl, rect(s * (hw - .1), 0, s * (hw - .45), .45), TYRE, label)


# -------------------------------------------------------------------------------------- people and bikes
def person_pose(rng, h, mode):
    """Joint positions (u, y) of a figure of height ``h``: 'front' walking, 'side' walking, 'ride' seated."""
    s = rng.uniform(-1, 1) * .16 * h
    if mode == "front":
        spread = h * .06 + abs(s) * .3
        return {"head": (0, h * .93), "sh": (-h * .13, h * .82), "sh2": (h * .13, h * .82),
                "hip": (-h * .07, h * .5), "hip2": (h * .07, h * .5),
                "legs": [((-h * .05, h * .5), (-spread, 0)), ((h * .05, h * .5), (spread, 0))],
                "arms": [((-h * .13, h * .8), (-h * .17, h * .46)), ((h * .13, h * .8), (h * .17, h * .46))]}
    hip = (0, h * .52) if mode == "side" else (0, 0)
    lean = h * (.03 if mode == "side" else .16)
    sh = (hip[0] + lean, hip[1] + h * .3)
    legs = [((0, h * .52), (s, 0)), ((0, h * .52), (-s, 0))] if mode == "side" else []
    arms = [(sh, (sh[0] - s * .6, sh[1] - h * .3)), (sh, (sh[0] + s * .6, sh[1] - h * .3))] if mode == "side" else []
    return {"head": (sh[0] + h * .03, sh[1] + h * .11), "sh": sh, "hip": hip, "legs": legs, "arms": arms}


def person(cv, rng, pl, h, mode="front", label=PERSON, pose=None, colors=None):
    """One figure; riders reuse it with the seated pose so person/rider differ by context, not look."""
    top, bottom, skin = colors or (cloth(rng), cloth(rng), jitter(rng, _SKIN[rng.integers(len(_SKIN))], 8))
    j = pose or person_pose(rng, h, mode)
    for a, b in j["legs"]:
        cv.limb(pl, a, b, h * .075, bottom, label)
    if mode == "front":
        cv.poly_in(pl, [j["sh"], j["sh2"], j["hip2"], j["hip"]], top, label)
    else:
        cv.limb(pl, j["hip"], j["sh"], h * .15, top, label)
    for a, b in j["arms"]:
        cv.limb(pl, a, b, h * .05, top, label)
    hu, hy = j["head"]
    cv.poly_in(pl, circle(hu, hy, h * .065, 8), skin, label)
    cv.poly_in(pl, rect(hu - h * .066, hy, hu + h * .066, hy + h * .05), jitter(rng, (50, 35, 25), 20), label)  # hair


def bike(cv, rng, x, z, kind="bicycle", rider=False, direction=1):
    """Side-on bicycle or motorcycle at lateral ``x`` (plane X=x), optionally carrying a rider."""
    label = BICYCLE if kind == "bicycle" else MOTO
    pl0 = cv.plane((x, z), "z")
    pl = lambda u, y: pl0(direction * u, y)  # noqa: E731 - mirror so bikes face either way
    frame = paint(rng)
    if kind == "bicycle":
        r, wb = .34, 1.05
        for u in (0, wb):  # spoked wheels read as thin rings: one of the hardest thin structures
            ring = circle(u, r, r, 12)
            for a, b in zip(ring, ring[1:] + ring[:1]):
                cv.line(pl(*a), pl(*b), .05, TYRE, label)
        for a, b in (((0, r), (.4, .32)), ((.4, .32), (.95, .85)), ((0, r), (.32, .88)), ((.32, .88), (.95, .85)),
                     ((.4, .32), (.32, .88)), ((wb, r), (.95, .85)), ((.95, .85), (.9, 1.02))):
            cv.line(pl(*a), pl(*b), .045, frame, label)
        seat, bar, pedal = (.3, .92), (.9, 1.02), (.45, .28)
    else:
        r, wb = .31, 1.4
        _wheels(cv, pl, (0, wb), r, label)
        cv.poly_in(pl, [(.15, .45), (.25, .85), (.6, .95), (1.05, .95), (1.2, .7), (.9, .4)], frame, label)
        cv.poly_in(pl, rect(.45, .25, .95, .6), (50, 50, 52), label)  # engine
        cv.line(pl(wb, r), pl(1.15, 1.1), .06, (70, 70, 70), label)
        seat, bar, pedal = (.45, .95), (1.15, 1.12), (.7, .35)
    if rider:
        hh = rng.uniform(1.6, 1.85)
        hip = seat
        sh = (hip[0] + hh * .16, hip[1] + hh * .28)
        knee = ((hip[0] + pedal[0]) / 2 + .2, (hip[1] + pedal[1]) / 2 + .15)
        pose = {"head": (sh[0] + hh * .04, sh[1] + hh * .11), "sh": sh, "hip": hip,
                "legs": [(hip, knee), (knee, pedal)], "arms": [(sh, bar)]}
        person(cv, rng, pl, hh, mode="ride", label=RIDER, pose=pose)


# ------------------------------------------------------------------------------------- poles, signs, trees
def pole(cv, rng, x, z, h, label=POLE):
    cv.line((x, 0, z), (x, h, z), rng.uniform(.15, .25), jitter(rng, (120, 122, 125), 15), label)


def sign(cv, rng, x, y, z):
    """Traffic sign facing the camera: a handful of shapes and colourings, or a grey back plate."""
    pl, s = cv.plane((x, z), "x"), rng.uniform(.7, 1.0)
    shape = rng.integers(4)
    face, inner = [((200, 30, 30), (235, 235, 235)), ((30, 70, 160), (30, 70, 160)), ((235, 200, 30), (235, 200, 30)),
                   ((235, 235, 235), (40, 40, 40))][rng.integers(4)]
    if rng.random() < .1:
        face = inner = jitter(rng, (140, 140, 145), 15)
    pts = {0: circle(0, 0, s / 2, 10), 1: [(-s / 2, s / 2), (s / 2, s / 2), (0, -s / 2)],
           2: [(0, s / 2), (s / 2, 0), (0, -s / 2), (-s / 2, 0)], 3: rect(-s * .6, -s * .35, s * .6, s * .35)}[shape]
    cv.poly_in(pl, [(u, y + v) for u, v in pts], face, SIGN)
    cv.poly_in(pl, [(u * .6, y + v * .6) for u, v in pts], inner, None)


def traffic_light(cv, rng, x, y, z):
    pl = cv.plane((x, z), "x")
    housing = jitter(rng, (35, 35, 35) if rng.random() < .8 else (180, 160, 50), 8)
    cv.poly_in(pl, rect(-.25, y, .25, y + 1.1), housing, LIGHT)
    lit = rng.integers(3)
    for k, col in enumerate(((40, 220, 90), (250, 190, 30), (240, 40, 30))):
        cv.poly_in(pl, circle(0, y + .2 + k * .35, .13, 8), col if k == lit else (70, 70, 65), None)


def tree(cv, rng, x, z, size=1.0):
    """Trunk and a clumpy crown; both are vegetation in Cityscapes."""
    th, cr = rng.uniform(2.0, 3.5) * size, rng.uniform(1.5, 3.2) * size
    cv.line((x, 0, z), (x, th + cr * .5, z), rng.uniform(.2, .4) * size, jitter(rng, (80, 65, 50), 15), VEG)
    pl = cv.plane((x, z), "x")
    green = (55, 85, 35)
    for _ in range(rng.integers(4, 9)):
        du, dy, r = rng.normal(0, cr * .45), th + cr + rng.normal(0, cr * .3), cr * rng.uniform(.45, .8)
        cv.poly_in(pl, circle(du, dy, r, 10), jitter(rng, green, 18), VEG)
