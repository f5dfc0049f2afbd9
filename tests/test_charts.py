"""Server-side SVG charts for dashboards: well-formed, every figure written on
the chart and in a table for screen readers, scaled to the largest value,
escaped, and free of the inline styles that the CSP forbids."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from flask import render_template_string

from app.charts import bar_chart, pie_chart

SVG = "{http://www.w3.org/2000/svg}"
#: CNSS-14's summary: situation of the reimbursement files, number of files
SITUATIONS = [
    ("Dossier payé", 1234),
    ("Dossier annulé", 15),
    ("Dossier en cours de traitement", 320),
    ("Dossier retourné", 0),
]


@pytest.fixture
def request_context(app):
    with app.test_request_context():
        yield


def parse(markup: str) -> ET.Element:
    """The chart's <figure>, parsed as XML: it fails on markup that is not well formed."""
    return ET.fromstring(str(markup))


def svg_of(figure: ET.Element) -> ET.Element:
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    return svg


def all_text(element: ET.Element) -> str:
    return " ".join(element.itertext())


def test_bar_chart_is_svg_with_every_label_and_value_written_on_it(request_context):
    figure = parse(bar_chart(SITUATIONS, title="Récapitulatif des dossiers"))

    svg = svg_of(figure)
    labels = [all_text(t) for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    values = [all_text(t) for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-value"]
    assert labels == ["Dossier payé", "Dossier annulé", "Dossier en cours de traitement", "Dossier retourné"]
    assert values == ["1\u202f234", "15", "320", "0"]
    assert figure.findtext("figcaption") == "Récapitulatif des dossiers"


def test_largest_value_has_the_tallest_bar(request_context):
    svg = svg_of(parse(bar_chart(SITUATIONS, title="Récapitulatif des dossiers")))

    heights = [float(rect.get("height")) for rect in svg.iter(f"{SVG}rect") if rect.get("class") == "chart-bar"]
    assert len(heights) == 4
    assert heights[0] == max(heights)
    assert heights[0] > heights[2] > heights[1] > heights[3] == 0
    assert heights[2] / heights[0] == pytest.approx(320 / 1234, rel=0.01)


def test_amounts_are_written_in_french_with_their_unit(request_context):
    svg = svg_of(parse(bar_chart([("Montant déclaré", Decimal("1234.50")), ("Montant payé", Decimal("99.00"))], title="Montants", unit="DH")))

    values = [all_text(t) for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-value"]
    assert values == ["1\u202f234,50\u00a0DH", "99,00\u00a0DH"]


def test_chart_is_an_image_named_and_described_with_a_table_of_its_figures(request_context):
    figure = parse(bar_chart(SITUATIONS, title="Récapitulatif des dossiers"))

    svg = svg_of(figure)
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.find(f"{SVG}title").get("id") == title_id
    assert svg.find(f"{SVG}title").text == "Récapitulatif des dossiers"
    description = svg.find(f"{SVG}desc")
    assert description.get("id") == desc_id
    assert "Dossier en cours de traitement : 320" in description.text
    table = figure.find("table")
    assert table.get("class") == "sr-only"
    assert table.findtext("caption") == "Récapitulatif des dossiers"
    rows = [(row.findtext("th"), row.findtext("td")) for row in table.iter("tr") if row.find("td") is not None]
    assert rows == [("Dossier payé", "1\u202f234"), ("Dossier annulé", "15"), ("Dossier en cours de traitement", "320"), ("Dossier retourné", "0")]


def test_label_that_looks_like_markup_stays_text(request_context):
    hostile = '<script>alert("x")</script>'
    for chart in (bar_chart, pie_chart):
        markup = str(chart([(hostile, 3), ("Autre & divers", 1)], title="<b>Titre</b>"))

        figure = parse(markup)
        tags = {element.tag.replace(SVG, "") for element in figure.iter()}
        assert "script" not in tags and "b" not in tags
        assert hostile in all_text(figure)
        assert "<b>Titre</b>" in all_text(figure)
        assert "<script" not in markup


def test_charts_carry_no_style_attribute(request_context):
    for markup in (bar_chart(SITUATIONS, title="Barres"), pie_chart(SITUATIONS, title="Secteurs")):
        assert not re.search(r"\sstyle\s*=", str(markup))
        assert "<style" not in str(markup)
        assert all(element.get("style") is None for element in parse(markup).iter())


def test_pie_chart_gives_each_slice_its_own_fill_label_value_and_share(request_context):
    items = [("Dossier payé", 50), ("Dossier annulé", 25), ("Dossier retourné", 25), ("Dossier rejeté", 0)]

    svg = svg_of(parse(pie_chart(items, title="Répartition des dossiers")))

    slices = [e for e in svg.iter() if e.get("class") == "chart-slice"]
    assert len(slices) == 3, "a value of zero draws no slice"
    fills = [s.get("fill") for s in slices]
    assert len(set(fills)) == 3
    keys = [e.get("fill") for e in svg.iter(f"{SVG}rect") if e.get("class") == "chart-key"]
    assert keys[:3] == fills, "each legend key shows its slice's fill"
    legend = [all_text(t) for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert legend == [
        "Dossier payé — 50 (50\u00a0%)",
        "Dossier annulé — 25 (25\u00a0%)",
        "Dossier retourné — 25 (25\u00a0%)",
        "Dossier rejeté — 0 (0\u00a0%)",
    ]
    patterns = {f"url(#{p.get('id')})" for p in svg.iter(f"{SVG}pattern")}
    assert set(fills[1:]) <= patterns, "after the first, slices differ by a pattern, not only by colour"


def test_pie_chart_of_one_item_is_a_full_disc(request_context):
    svg = svg_of(parse(pie_chart([("Dossier payé", 7)], title="Répartition")))

    slices = [e for e in svg.iter() if e.get("class") == "chart-slice"]
    assert [s.tag for s in slices] == [f"{SVG}circle"]


def test_charts_without_figures_say_so(request_context):
    for chart in (bar_chart, pie_chart):
        figure = parse(chart([], title="Aucun dossier"))
        assert "Aucune donnée" in all_text(svg_of(figure))
    assert "Aucune donnée" in all_text(parse(pie_chart([("Dossier payé", 0)], title="Vide")))


def test_negative_or_non_numeric_values_are_refused(request_context):
    for bad in (-1, float("nan"), "12", True):
        with pytest.raises(ValueError):
            bar_chart([("Dossier payé", bad)], title="Erreur")
        with pytest.raises(ValueError):
            pie_chart([("Dossier payé", bad)], title="Erreur")


def test_two_charts_on_one_page_have_distinct_ids(request_context):
    first = svg_of(parse(pie_chart(SITUATIONS, title="Cette année")))
    second = svg_of(parse(pie_chart(SITUATIONS, title="L'an dernier")))

    ids = lambda svg: {e.get("id") for e in svg.iter() if e.get("id")}  # noqa: E731
    assert ids(first) and not ids(first) & ids(second)


def test_templates_draw_charts_through_the_globals(request_context):
    html = render_template_string(
        '{{ bar_chart(rows, title="Récapitulatif") }}{{ pie_chart(rows, title="Répartition", unit="DH") }}',
        rows=[("Dossier payé", 3), ("Dossier <retourné>", 1)],
    )

    assert html.count("<svg ") == 2, "the charts are markup, not escaped text"
    assert "Dossier &lt;retourné&gt;" in html
