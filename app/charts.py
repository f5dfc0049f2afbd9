"""Server-side SVG charts for dashboards and printable documents (the seeds'
summaries come « with a chart of the same figures »): no JavaScript, readable
without colour, accessible, and escaped by ElementTree rather than by hand."""
from __future__ import annotations

import hashlib
import math
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from decimal import Decimal
from typing import Union

from flask import Flask
from flask_babel import format_decimal, format_percent, gettext as _
from markupsafe import Markup

Number = Union[int, float, Decimal]
Items = Sequence[tuple[str, Number]]

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 640
TEXT = "#1b2330"
MUTED = "#545e6b"
BAR = "#1d4f91"
#: Okabe-Ito colours (told apart by colour-blind readers), each with its own pattern
SHADES = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#3d3d3d")


def _format_number(value: Number, unit: str) -> str:
    """French figures: « 1 234,50 DH »; a Decimal keeps its places (amounts), an int has none."""
    if isinstance(value, Decimal) and value.as_tuple().exponent < 0:  # type: ignore[operator]
        pattern = "#,##0." + "0" * -int(value.as_tuple().exponent)
    elif isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value()):
        pattern = "#,##0"
    else:
        pattern = "#,##0.##"
    text = format_decimal(value, format=pattern)
    return f"{text}\u00a0{unit}" if unit else text


def _checked(items: Items) -> list[tuple[str, Number]]:
    """The items as (label, value) pairs; a negative or non-finite value is a programming error."""
    checked = []
    for label, value in items:
        if not isinstance(value, (int, float, Decimal)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"chart values must be finite numbers ≥ 0, got {value!r} for {label!r}")
        checked.append((str(label), value))
    return checked


def _chart_id(kind: str, title: str, items: list[tuple[str, Number]]) -> str:
    """A stable id for the chart's elements: the same figures give the same id, two charts differ."""
    digest = hashlib.sha1(repr((kind, title, items)).encode("utf-8")).hexdigest()[:10]
    return f"chart-{digest}"


def _text(parent: ET.Element, x: float, y: float, lines: list[str], **attrs: str) -> ET.Element:
    """A <text> of one or more lines (one <tspan> each), since SVG text does not wrap."""
    node = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", "fill": TEXT, "font-size": "12", **attrs})
    if len(lines) == 1:
        node.text = lines[0]
        return node
    for i, line in enumerate(lines):
        span = ET.SubElement(node, "tspan", {"x": f"{x:.1f}", "dy": "0" if i == 0 else "1.2em"})
        span.text = line
    return node


def _wrap(label: str, width: int, max_lines: int) -> list[str]:
    """The label cut into lines of about ``width`` characters; the last line ends with « … » when cut short."""
    lines = textwrap.wrap(label, width=max(width, 4)) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(width - 1, 1)].rstrip() + "…"
    return lines


def _svg(chart_id: str, height: float, title: str, description: str) -> ET.Element:
    """The <svg> element: an image for assistive technologies, named by its <title> and <desc>."""
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {WIDTH} {height:.0f}",
            "width": "100%",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": "chart-svg",
            "font-family": "DejaVu Sans, Noto Sans, Noto Naskh Arabic, sans-serif",
        },
    )
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = description
    return svg


def _figure(kind: str, title: str, svg: ET.Element, rows: list[tuple[str, str]], headers: tuple[str, str]) -> Markup:
    """<figure>: the visible title, the chart, and the same figures as a table for screen readers."""
    figure = ET.Element("figure", {"class": f"chart chart-{kind}"})
    ET.SubElement(figure, "figcaption").text = title
    figure.append(svg)
    table = ET.SubElement(figure, "table", {"class": "sr-only"})
    ET.SubElement(table, "caption").text = title
    head = ET.SubElement(ET.SubElement(table, "thead"), "tr")
    for header in headers:
        ET.SubElement(head, "th", {"scope": "col"}).text = header
    body = ET.SubElement(table, "tbody")
    for label, value in rows:
        row = ET.SubElement(body, "tr")
        ET.SubElement(row, "th", {"scope": "row"}).text = label
        ET.SubElement(row, "td").text = value
    return Markup(ET.tostring(figure, encoding="unicode", method="xml"))


def _describe(kind: str, rows: list[tuple[str, str]]) -> str:
    """The <desc> of a chart: its kind and every figure, in one sentence."""
    if not rows:
        return _("%(kind)s : aucune donnée.", kind=kind)
    return _("%(kind)s : %(figures)s.", kind=kind, figures=" ; ".join(f"{label} : {value}" for label, value in rows))


def bar_chart(items: Items, *, title: str, unit: str = "") -> Markup:
    """A column chart of ``items`` (label, value ≥ 0), scaled to the largest value,
    each column with its value above and its label below."""
    data = _checked(items)
    chart_id = _chart_id("bar", title, data)
    rows = [(label, _format_number(value, unit)) for label, value in data]
    top, plot_height, side = 28.0, 200.0, 8.0
    slot = (WIDTH - 2 * side) / max(len(data), 1)
    label_lines = [_wrap(label, int(slot / 6.8), 3) for label, _value in data]
    label_height = 16.0 * max((len(lines) for lines in label_lines), default=1) + 10
    height = top + plot_height + label_height
    svg = _svg(chart_id, height, title, _describe(_("Diagramme en barres"), rows))
    baseline = top + plot_height
    if not data:
        _text(svg, WIDTH / 2, top + plot_height / 2, [_("Aucune donnée")], **{"text-anchor": "middle", "fill": MUTED})
    largest = max((float(value) for _label, value in data), default=0.0)
    bar_width = min(slot * 0.62, 96.0)
    for i, ((label, value), (_label, shown), lines) in enumerate(zip(data, rows, label_lines)):
        centre = side + slot * i + slot / 2
        bar_height = plot_height * float(value) / largest if largest else 0.0
        item = ET.SubElement(svg, "g", {"class": "chart-item"})
        ET.SubElement(item, "title").text = f"{label} : {shown}"
        ET.SubElement(
            item,
            "rect",
            {
                "class": "chart-bar",
                "x": f"{centre - bar_width / 2:.1f}",
                "y": f"{baseline - bar_height:.1f}",
                "width": f"{bar_width:.1f}",
                "height": f"{bar_height:.1f}",
                "fill": BAR,
            },
        )
        _text(item, centre, baseline - bar_height - 6, [shown], **{"class": "chart-value", "text-anchor": "middle", "font-weight": "bold"})
        _text(item, centre, baseline + 18, lines, **{"class": "chart-label", "text-anchor": "middle"})
    ET.SubElement(
        svg,
        "line",
        {"class": "chart-axis", "x1": f"{side}", "x2": f"{WIDTH - side}", "y1": f"{baseline}", "y2": f"{baseline}", "stroke": MUTED},
    )
    return _figure("bar", title, svg, rows, (_("Libellé"), _("Valeur")))


def _patterns(svg: ET.Element, chart_id: str, count: int) -> list[str]:
    """One fill per slice: a distinct shade with a distinct pattern, so that slices
    differ in print and for readers who do not tell colours apart."""
    defs = ET.SubElement(svg, "defs")
    marks = (
        [],  # plain
        [("path", {"d": "M0,8 L8,0", "stroke-width": "2"})],  # diagonal
        [("circle", {"cx": "4", "cy": "4", "r": "1.6"})],  # dots
        [("path", {"d": "M0,4 L8,4", "stroke-width": "2"})],  # horizontal
        [("path", {"d": "M0,8 L8,0 M0,0 L8,8", "stroke-width": "1.2"})],  # cross-hatch
        [("path", {"d": "M4,0 L4,8", "stroke-width": "2"})],  # vertical
        [("path", {"d": "M0,0 L8,8", "stroke-width": "2"})],  # other diagonal
        [("path", {"d": "M0,4 L8,4 M4,0 L4,8", "stroke-width": "1.2"})],  # grid
    )
    fills = []
    for i in range(count):
        shade, drawn = SHADES[i % len(SHADES)], marks[(i + i // len(SHADES)) % len(marks)]
        if not drawn:
            fills.append(shade)  # a plain fill: a pattern tile would show seams in some viewers
            continue
        pattern_id = f"{chart_id}-p{i}"
        pattern = ET.SubElement(
            defs, "pattern", {"id": pattern_id, "width": "8", "height": "8", "patternUnits": "userSpaceOnUse"}
        )
        ET.SubElement(pattern, "rect", {"width": "8", "height": "8", "fill": shade})
        for tag, attrs in drawn:
            ET.SubElement(pattern, tag, {"stroke": "#ffffff", "fill": "#ffffff", **attrs})
        fills.append(f"url(#{pattern_id})")
    return fills


def _slice_path(cx: float, cy: float, r: float, start: float, end: float) -> str:
    """The SVG path of a pie slice from angle ``start`` to ``end`` (radians, clockwise from the top)."""
    x1, y1 = cx + r * math.sin(start), cy - r * math.cos(start)
    x2, y2 = cx + r * math.sin(end), cy - r * math.cos(end)
    large = 1 if end - start > math.pi else 0
    return f"M{cx:.2f},{cy:.2f} L{x1:.2f},{y1:.2f} A{r:.2f},{r:.2f} 0 {large} 1 {x2:.2f},{y2:.2f} Z"


def pie_chart(items: Items, *, title: str, unit: str = "") -> Markup:
    """A pie chart of ``items`` (label, value ≥ 0) with a legend giving each
    slice's pattern, label, value and share."""
    data = _checked(items)
    chart_id = _chart_id("pie", title, data)
    total = sum(float(value) for _label, value in data)
    rows = []
    for label, value in data:
        share = format_percent(float(value) / total, format="#,##0.#\u00a0%") if total else format_percent(0)
        rows.append((label, f"{_format_number(value, unit)} ({share})"))
    legend_lines = [_wrap(f"{label} — {shown}", 46, 2) for label, shown in rows]
    legend_height = sum(8 + 16 * len(lines) for lines in legend_lines) + 16
    height = max(250.0, legend_height)
    svg = _svg(chart_id, height, title, _describe(_("Diagramme circulaire"), rows))
    cx, cy, r = 125.0, height / 2, 110.0
    fills = _patterns(svg, chart_id, len(data))
    if not total:
        ET.SubElement(svg, "circle", {"cx": f"{cx}", "cy": f"{cy}", "r": f"{r}", "fill": "none", "stroke": MUTED})
        _text(svg, cx, cy + 4, [_("Aucune donnée")], **{"text-anchor": "middle", "fill": MUTED})
    angle = 0.0
    y = (height - legend_height) / 2 + 16
    for (label, value), (_label, shown), fill, lines in zip(data, rows, fills, legend_lines):
        item = ET.SubElement(svg, "g", {"class": "chart-item"})
        ET.SubElement(item, "title").text = f"{label} : {shown}"
        sweep = 2 * math.pi * float(value) / total if total else 0.0
        if sweep >= 2 * math.pi - 1e-9:
            ET.SubElement(item, "circle", {"class": "chart-slice", "cx": f"{cx}", "cy": f"{cy}", "r": f"{r}", "fill": fill, "stroke": "#ffffff", "stroke-width": "2"})
        elif sweep > 0:
            ET.SubElement(
                item,
                "path",
                {"class": "chart-slice", "d": _slice_path(cx, cy, r, angle, angle + sweep), "fill": fill, "stroke": "#ffffff", "stroke-width": "2"},
            )
        angle += sweep
        ET.SubElement(
            item,
            "rect",
            {"class": "chart-key", "x": "270", "y": f"{y - 12:.1f}", "width": "16", "height": "16", "fill": fill, "stroke": TEXT, "stroke-width": "0.5"},
        )
        _text(item, 294, y + 1, lines, **{"class": "chart-label"})
        y += 8 + 16 * len(lines)
    return _figure("pie", title, svg, rows, (_("Libellé"), _("Valeur")))


def init_app(app: Flask) -> None:
    """Let every template draw a chart: ``{{ bar_chart(rows, title=_("…"), unit="DH") }}``."""
    app.jinja_env.globals.update(bar_chart=bar_chart, pie_chart=pie_chart)
