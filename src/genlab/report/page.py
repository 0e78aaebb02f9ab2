"""Small HTML builders shared by every page genlab writes: escaping, numbers for people, tables, inline
images, verdict badges and the page shell with its CSS. Plain strings and `html.escape`; no template
engine, no script, so pages open anywhere without a network."""

from __future__ import annotations

import base64
import html
from typing import Any

import numpy as np

__all__ = ["CSS", "Raw", "badge", "esc", "figure", "fmt", "h2", "img_tag", "page", "table"]

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d2330;
       max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; line-height: 1.45; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 34px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #e3e7ee; }
h3 { font-size: 15px; margin: 18px 0 6px; color: #3a4356; }
p.sub { color: #5b6476; margin: 0 0 18px; }
p.note { color: #5b6476; font-size: 13px; margin: 6px 0; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { border: 1px solid #d8dde6; padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: #f3f5f9; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.rules td:nth-child(2), table.rules td:nth-child(3), table.rules td:nth-child(4) { white-space: nowrap; }
table.kv th { width: 170px; }
.best { font-weight: 700; background: #eaf6ea; }
tr.worst td { background: #fff7e6; }
td.bad { background: #fde2e1; color: #8f1d18; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600; font-size: 13px; }
.good { background: #dff3e2; color: #17612a; }
.warn { background: #fff1d6; color: #7a5200; }
.bad { background: #fde2e1; color: #8f1d18; }
.na { background: #eceef2; color: #4a5060; }
.row { display: flex; flex-wrap: wrap; gap: 22px; align-items: flex-start; }
figure { margin: 6px 0; display: inline-block; vertical-align: top; }
figcaption { font-size: 13px; color: #5b6476; text-align: center; margin-top: 4px; }
img { max-width: 100%; image-rendering: pixelated; }
img.plot { image-rendering: auto; }
.pairs { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.pair { border: 1px solid #e3e7ee; border-radius: 6px; padding: 6px; text-align: center; font-size: 12px; }
.pair img { width: 45%; margin: 2px; }
code { background: #f3f5f9; padding: 1px 4px; border-radius: 3px; font-size: 13px; }
nav { font-size: 14px; margin: 8px 0 0; }
nav a { margin-right: 12px; color: #2855a8; text-decoration: none; }
"""


# ----------------------------------------------------------------------------- small builders
class Raw(str):
    """Already-escaped HTML: `table` and `page` insert it as is."""


def esc(x: Any) -> str:
    return x if isinstance(x, Raw) else html.escape(str(x))


def fmt(v: Any, digits: int = 4) -> str:
    """Numbers for people: 4 significant digits, None as an en dash."""
    if v is None:
        return "\u2013"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        v = float(v)
        if not np.isfinite(v):
            return str(v)
        return f"{v:.{digits}g}" if (abs(v) >= 1e-3 or v == 0) else f"{v:.2e}"
    return str(v)


def img_tag(png: bytes, alt: str, *, cls: str = "", width: int | None = None) -> Raw:
    """An <img> holding the PNG inline as a base64 data URI."""
    data = base64.b64encode(png).decode("ascii")
    attrs = f' class="{cls}"' if cls else ""
    attrs += f' width="{int(width)}"' if width else ""
    return Raw(f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}"{attrs}>')


def figure(png: bytes, caption: str, *, cls: str = "", width: int | None = None) -> Raw:
    return Raw(
        f"<figure>{img_tag(png, caption, cls=cls, width=width)}<figcaption>{esc(caption)}</figcaption></figure>"
    )


def table(header: list[str] | None, rows: list[list[Any]], *, cls: str = "", numeric: bool = True) -> Raw:
    """Rows of cells (str / number / Raw). Numbers are formatted and right-aligned; a cell given as
    ("best", value) is highlighted."""
    out = [f'<table class="{cls}">' if cls else "<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for k, c in enumerate(row):
            best = isinstance(c, tuple) and len(c) == 2 and c[0] == "best"
            v = c[1] if best else c
            is_num = (
                numeric and isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            )
            klass = " ".join(x for x in ("num" if is_num else "", "best" if best else "") if x)
            tag = "th" if (cls == "kv" and k == 0) else "td"
            text = esc(v) if isinstance(v, str) else esc(fmt(v))
            cells.append(f'<{tag} class="{klass}">{text}</{tag}>' if klass else f"<{tag}>{text}</{tag}>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return Raw("".join(out))


def h2(title: str, anchor: str) -> Raw:
    return Raw(f'<h2 id="{esc(anchor)}">{esc(title)}</h2>')


def badge(text: str, tone: str) -> Raw:
    """A coloured verdict label; tone is good, warn, bad or na."""
    return Raw(f'<span class="verdict {tone}">{esc(text)}</span>')


def page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
