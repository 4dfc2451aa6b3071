"""Subjects drawn with Pillow primitives, in proportions that keep the types apart at 64x64."""

from __future__ import annotations

from dataclasses import dataclass, replace

from PIL import ImageDraw

from imprint.world.subject import Subject
from imprint.world.vocabulary import RGB

SKIN = (250, 215, 175)
FRAME = (15, 15, 15)
LENS = (170, 215, 250)
CLOTHES = {"girl": (240, 120, 180), "boy": (40, 170, 170), "woman": (140, 70, 170), "man": (40, 50, 110)}


def _contrast(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (35, 25, 25) if sum(rgb) > 360 else (235, 235, 225)


@dataclass(frozen=True)
class Pose:
    """Where the figure stands: x of its centre, y of its feet, a scale and a facing (+1 right)."""

    x: float
    feet: float
    scale: float
    facing: int


class _Pen:
    """Draws in figure units (about one canvas pixel at scale 1) relative to the pose."""

    def __init__(self, d: ImageDraw.ImageDraw, pose: Pose) -> None:
        self.d, self.p = d, pose

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (self.p.x + x * self.p.scale * self.p.facing, self.p.feet - y * self.p.scale)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        (ax, ay), (bx, by) = self.pt(x0, y0), self.pt(x1, y1)
        return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill, outline=None, width: int = 1) -> None:
        self.d.ellipse(self.box(cx - rx, cy - ry, cx + rx, cy + ry), fill=fill, outline=outline, width=width)

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill) -> None:
        self.d.rectangle(self.box(x0, y0, x1, y1), fill=fill)

    def poly(self, pts: list[tuple[float, float]], fill) -> None:
        self.d.polygon([self.pt(x, y) for x, y in pts], fill=fill)

    def line(self, pts: list[tuple[float, float]], fill, width: float) -> None:
        self.d.line([self.pt(x, y) for x, y in pts], fill=fill, width=max(1, round(width * self.p.scale)))


def _pattern(pen: _Pen, pattern: str, x0: float, y0: float, x1: float, y1: float, rgb) -> None:
    """Spots or stripes inside the box (figure units), in a colour that contrasts with rgb."""
    ink = _contrast(rgb)
    if pattern == "spotted":
        step = 7.0
        y = y0 + 3.5
        row = 0
        while y < y1 - 2:
            x = x0 + 3 + (row % 2) * 3.5
            while x < x1 - 2:
                pen.ellipse(x, y, 1.8, 1.8, fill=ink)
                x += step
            y += step * 0.8
            row += 1
    elif pattern == "striped":
        x = x0 + 3
        while x < x1 - 1:
            pen.rect(x, y0 + 1, x + 2.2, y1 - 1, fill=ink)
            x += 6


def _hat(pen: _Pen, cx: float, top: float, r: float, rgb) -> None:
    pen.rect(cx - r * 1.3, top - 1, cx + r * 1.3, top + 2.5, fill=rgb)
    pen.rect(cx - r * 0.8, top + 2.5, cx + r * 0.8, top + 2.5 + r * 0.9, fill=rgb)


def _glasses(pen: _Pen, cx: float, cy: float, front: bool) -> None:
    lenses = (-4.5, 4.5) if front else (3.5,)
    for dx in lenses:
        pen.ellipse(cx + dx, cy, 3.6, 3.2, fill=LENS, outline=FRAME, width=2)
    if front:
        pen.line([(cx - 1, cy), (cx + 1, cy)], fill=FRAME, width=2)
    else:
        pen.line([(cx + 0, cy), (cx - 6, cy + 1)], fill=FRAME, width=2)


def _human(pen: _Pen, s: Subject) -> None:
    adult = s.kind in ("woman", "man")
    female = s.kind in ("woman", "girl")
    leg, torso, head = (26.0, 26.0, 9.5) if adult else (15.0, 17.0, 9.0)
    hair = RGB[s.colour]
    cloth = CLOTHES[s.kind]
    neck = leg + torso
    hc = neck + head + 1
    if female:  # long hair falls behind the shoulders
        pen.ellipse(0, hc - head * 0.6, head * 1.25, head * 1.4, fill=hair)
    legs_rgb = SKIN if female or not adult else (60, 60, 70)
    pen.rect(-6, 0, -2, leg, fill=legs_rgb)
    pen.rect(2, 0, 6, leg, fill=legs_rgb)
    pen.line([(-9, neck - 2), (-13, neck - torso * 0.8)], fill=SKIN, width=3)
    pen.line([(9, neck - 2), (13, neck - torso * 0.8)], fill=SKIN, width=3)
    if female:
        hem = leg * 0.45
        pen.poly([(-7, neck), (7, neck), (13, hem), (-13, hem)], fill=cloth)
        _pattern(pen, s.pattern, -9, hem, 9, neck, cloth)
    else:
        pen.rect(-9, leg - (0 if adult else 5), 9, neck, fill=cloth)
        _pattern(pen, s.pattern, -9, leg - (0 if adult else 5), 9, neck, cloth)
    pen.ellipse(0, hc, head, head, fill=SKIN)
    if not female:  # short hair: a cap over the top of the head
        pen.ellipse(0, hc + head * 0.45, head * 1.05, head * 0.6, fill=hair)
    else:
        pen.ellipse(0, hc + head * 0.55, head * 1.1, head * 0.55, fill=hair)
    pen.ellipse(-3.3, hc - 1, 1.2, 1.2, fill=FRAME)
    pen.ellipse(3.3, hc - 1, 1.2, 1.2, fill=FRAME)
    if s.accessory == "hat":
        _hat(pen, 0, hc + head * 0.8, head, RGB[str(s.accessory_colour)])
    elif s.accessory == "scarf":
        rgb = RGB[str(s.accessory_colour)]
        pen.rect(-9, neck - 4, 9, neck + 2, fill=rgb)
        pen.rect(3, neck - 13, 8, neck - 2, fill=rgb)
    elif s.accessory == "glasses":
        _glasses(pen, 0, hc - 1, front=True)


def _quadruped(pen: _Pen, s: Subject, cat: bool) -> None:
    fur = RGB[s.colour]
    dark = tuple(int(c * 0.6) for c in fur)
    bw, bh, leg = (17.0, 7.5, 10.0) if cat else (21.0, 10.0, 12.0)
    by = leg + bh * 0.8
    head_r = 8.0 if cat else 9.5
    hx, hy = bw * 0.95, by + bh + head_r * 0.4
    if cat:
        pen.line([(-bw + 1, by + 2), (-bw - 6, by + 10), (-bw - 3, by + 20)], fill=fur, width=3)
    else:
        pen.line([(-bw + 1, by + 3), (-bw - 6, by + 12)], fill=fur, width=4)
    for lx in (-bw * 0.7, -bw * 0.35, bw * 0.35, bw * 0.7):
        pen.rect(lx - 2, 0, lx + 2, by, fill=fur)
    pen.ellipse(0, by, bw, bh, fill=fur)
    _pattern(pen, s.pattern, -bw * 0.75, by - bh * 0.7, bw * 0.6, by + bh * 0.7, fur)
    pen.ellipse(hx, hy, head_r, head_r * 0.9, fill=fur)
    if cat:
        for ex in (-4.0, 3.5):
            pen.poly([(hx + ex - 3.5, hy + 5), (hx + ex, hy + 13), (hx + ex + 3.5, hy + 5)], fill=fur)
    else:
        pen.ellipse(hx + head_r * 0.9, hy - 2, 5.5, 3.8, fill=fur)  # snout
        pen.ellipse(hx + head_r * 0.9 + 5, hy - 1, 1.8, 1.8, fill=FRAME)
        pen.ellipse(hx - 4, hy - 1, 3.2, 7.5, fill=dark)  # floppy ear
    pen.ellipse(hx + 3, hy + 1.5, 1.3, 1.3, fill=FRAME)
    _quadruped_accessory(pen, s, hx, hy, head_r, by, bh)


def _quadruped_accessory(pen: _Pen, s: Subject, hx: float, hy: float, r: float, by: float, bh: float) -> None:
    if s.accessory == "hat":
        _hat(pen, hx, hy + r * 0.8, r * 0.8, RGB[str(s.accessory_colour)])
    elif s.accessory == "scarf":
        rgb = RGB[str(s.accessory_colour)]
        pen.ellipse(hx - r * 0.6, hy - r * 0.8, 4.5, r * 0.8, fill=rgb)
        pen.rect(hx - r * 0.6 - 2.5, by - bh * 0.2, hx - r * 0.6 + 2.5, hy - r * 0.8, fill=rgb)
    elif s.accessory == "glasses":
        _glasses(pen, hx, hy + 1.5, front=False)


def _panda(pen: _Pen, s: Subject) -> None:
    white = (245, 245, 240)
    patch = RGB[s.colour]
    pen.ellipse(-11, 5, 6, 5, fill=patch)  # feet
    pen.ellipse(11, 5, 6, 5, fill=patch)
    pen.ellipse(0, 17, 16, 15, fill=white)
    _pattern(pen, s.pattern, -11, 6, 11, 28, white)
    pen.ellipse(-15, 21, 4.5, 8, fill=patch)  # arms
    pen.ellipse(15, 21, 4.5, 8, fill=patch)
    hc, r = 41.0, 12.0
    pen.ellipse(-9, hc + 10, 4.5, 4.5, fill=patch)  # ears
    pen.ellipse(9, hc + 10, 4.5, 4.5, fill=patch)
    pen.ellipse(0, hc, r, r * 0.95, fill=white)
    pen.ellipse(-4.5, hc + 1, 3.2, 4, fill=patch)
    pen.ellipse(4.5, hc + 1, 3.2, 4, fill=patch)
    pen.ellipse(0, hc - 4.5, 2, 1.5, fill=FRAME)
    if s.accessory == "hat":
        _hat(pen, 0, hc + r * 0.85, r, RGB[str(s.accessory_colour)])
    elif s.accessory == "scarf":
        rgb = RGB[str(s.accessory_colour)]
        pen.rect(-11, hc - r - 3, 11, hc - r + 3, fill=rgb)
        pen.rect(4, hc - r - 13, 9, hc - r, fill=rgb)
    elif s.accessory == "glasses":
        _glasses(pen, 0, hc + 1, front=True)


# Animals are drawn larger than their real proportions so that their attributes stay legible.
SIZE_BOOST = {"dog": 1.3, "cat": 1.35, "panda": 1.1}


def draw_subject(d: ImageDraw.ImageDraw, subject: Subject, pose: Pose) -> None:
    pen = _Pen(d, replace(pose, scale=pose.scale * SIZE_BOOST.get(subject.kind, 1.0)))
    if subject.kind in CLOTHES:
        _human(pen, subject)
    elif subject.kind == "panda":
        _panda(pen, subject)
    else:
        _quadruped(pen, subject, cat=subject.kind == "cat")
