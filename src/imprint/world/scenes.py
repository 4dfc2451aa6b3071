"""Backgrounds of the procedural world, drawn on a square canvas (coordinates in canvas pixels)."""

from __future__ import annotations

import random
from collections.abc import Callable

from PIL import ImageDraw

Painter = Callable[[ImageDraw.ImageDraw, int, random.Random], int]


def _jitter(rgb: tuple[int, int, int], rng: random.Random, amount: int = 12) -> tuple[int, int, int]:
    r, g, b = (max(0, min(255, c + rng.randint(-amount, amount))) for c in rgb)
    return (r, g, b)


def _beach(d: ImageDraw.ImageDraw, s: int, rng: random.Random) -> int:
    horizon = int(s * rng.uniform(0.42, 0.5))
    shore = horizon + int(s * 0.12)
    d.rectangle((0, 0, s, horizon), fill=_jitter((135, 200, 250), rng))
    d.rectangle((0, horizon, s, shore), fill=_jitter((30, 120, 200), rng))
    d.rectangle((0, shore, s, s), fill=_jitter((240, 215, 150), rng))
    x = rng.choice((int(s * 0.15), int(s * 0.85)))
    r = s // 12
    d.ellipse((x - r, s // 10, x + r, s // 10 + 2 * r), fill=(255, 230, 80))
    return shore


def _snow(d: ImageDraw.ImageDraw, s: int, rng: random.Random) -> int:
    ground = int(s * rng.uniform(0.55, 0.62))
    d.rectangle((0, 0, s, ground), fill=_jitter((195, 210, 232), rng))
    for _ in range(2):
        cx = rng.randint(0, s)
        d.polygon(((cx - s // 3, ground), (cx, ground - s // 4), (cx + s // 3, ground)), fill=(160, 175, 200))
    d.rectangle((0, ground, s, s), fill=(250, 250, 255))
    for _ in range(24):
        x, y = rng.randint(0, s), rng.randint(0, ground)
        d.ellipse((x - 1, y - 1, x + 2, y + 2), fill=(255, 255, 255))
    return ground


def _forest(d: ImageDraw.ImageDraw, s: int, rng: random.Random) -> int:
    ground = int(s * rng.uniform(0.58, 0.64))
    d.rectangle((0, 0, s, ground), fill=_jitter((170, 210, 190), rng))
    d.rectangle((0, ground, s, s), fill=_jitter((60, 130, 50), rng))
    for i in range(6):
        x = int((i + rng.uniform(0.1, 0.9)) * s / 6)
        h = int(s * rng.uniform(0.3, 0.45))
        d.rectangle((x - 2, ground - h // 3, x + 2, ground), fill=(100, 60, 30))
        d.polygon(((x - s // 12, ground - h // 3), (x, ground - h), (x + s // 12, ground - h // 3)),
                  fill=_jitter((20, 90, 35), rng, 8))
    return ground


def _city(d: ImageDraw.ImageDraw, s: int, rng: random.Random) -> int:
    ground = int(s * rng.uniform(0.66, 0.72))
    d.rectangle((0, 0, s, s), fill=_jitter((180, 190, 210), rng))
    x = -rng.randint(0, s // 8)
    while x < s:
        w = rng.randint(s // 8, s // 5)
        top = int(s * rng.uniform(0.12, 0.4))
        d.rectangle((x, top, x + w - 2, ground), fill=_jitter((110, 110, 120), rng, 20))
        for wy in range(top + 4, ground - 4, 8):
            for wx in range(x + 3, x + w - 5, 7):
                d.rectangle((wx, wy, wx + 3, wy + 3), fill=(250, 230, 120))
        x += w
    d.rectangle((0, ground, s, s), fill=(85, 85, 92))
    return ground


def _night(d: ImageDraw.ImageDraw, s: int, rng: random.Random) -> int:
    ground = int(s * rng.uniform(0.66, 0.72))
    d.rectangle((0, 0, s, s), fill=_jitter((15, 20, 60), rng, 6))
    for _ in range(30):
        x, y = rng.randint(0, s), rng.randint(0, ground)
        d.point((x, y), fill=(255, 255, 220))
    mx, r = rng.randint(s // 6, 5 * s // 6), s // 11
    d.ellipse((mx - r, s // 12, mx + r, s // 12 + 2 * r), fill=(240, 240, 200))
    d.rectangle((0, ground, s, s), fill=(30, 35, 55))
    return ground


def _room(d: ImageDraw.ImageDraw, s: int, rng: random.Random) -> int:
    ground = int(s * rng.uniform(0.66, 0.72))
    d.rectangle((0, 0, s, ground), fill=_jitter((225, 205, 170), rng))
    d.rectangle((0, ground, s, s), fill=_jitter((150, 100, 60), rng))
    wx = rng.choice((s // 10, 6 * s // 10))
    d.rectangle((wx, s // 8, wx + s // 4, s // 8 + s // 4), fill=(160, 210, 240), outline=(255, 255, 255),
                width=3)
    return ground


PAINTERS: dict[str, Painter] = {
    "beach": _beach,
    "snow": _snow,
    "forest": _forest,
    "city": _city,
    "night": _night,
    "room": _room,
}


def paint_scene(d: ImageDraw.ImageDraw, scene: str, size: int, rng: random.Random) -> int:
    """Draws the scene and returns the y of the ground line where subjects stand."""
    return PAINTERS[scene](d, size, rng)
