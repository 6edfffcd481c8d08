"""A stored digest as HTML (with SVG bar charts), CSV and PDF. Each is a pure function of the stored content, so a
past report renders the same whenever it is fetched."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from fpdf import FPDF

EXCEPTION_TITLES = {
    "late_shipments": "Late shipments",
    "exception_shipments": "Shipments in a carrier exception",
    "stock_outs": "Stock-outs",
    "under_reorder_point": "Under the reorder point",
    "returns_awaiting_refund": "Returns waiting for a refund",
    "cases_past_target": "Cases past their target",
}


def shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def signed(value: Any) -> str:
    return "" if value is None else f"{value:+.4g}"


def title(content: dict[str, Any]) -> str:
    period = content["from"] if content["from"] == content["to"] else f"{content['from']} to {content['to']}"
    return f"{content['kind'].capitalize()} digest {period}"


def _bars(label: str, points: list[tuple[str, float | None]], scale: float | None = None) -> str:
    """An SVG bar chart: one bar per day, labelled by day of month."""
    width, height, bar = 24 * max(1, len(points)), 120, 18
    top = scale or max([v for _, v in points if v is not None] or [1]) or 1
    shapes = []
    for index, (day, value) in enumerate(points):
        h = 0 if value is None else round(90 * value / top)
        x = index * 24 + 3
        shapes.append(
            f'<rect x="{x}" y="{100 - h}" width="{bar}" height="{h}" fill="#3b6ea5">'
            f"<title>{day}: {shown(value)}</title></rect>"
        )
        shapes.append(f'<text x="{x + 9}" y="114" font-size="9" text-anchor="middle">{day[-2:]}</text>')
    return (
        f"<figure><figcaption>{html.escape(label)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(label)}">{"".join(shapes)}</svg></figure>'
    )


def to_html(content: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(r['family'])}</td><td>{html.escape(r['kpi'])}</td><td>{shown(r['value'])}</td>"
        f"<td>{shown(r['previous'])}</td><td>{signed(r['change'])}</td></tr>"
        for r in content["headlines"]
    )
    series = content["series"]
    charts = _bars("Orders placed per day", [(p["period"], p["orders"]) for p in series]) + _bars(
        "On-time delivery rate per day", [(p["period"], p["on_time_delivery_rate"]) for p in series], scale=1.0
    )
    sections = []
    for key, heading in EXCEPTION_TITLES.items():
        items = content["exceptions"][key]
        listed = "".join(f"<li>{html.escape(_describe(item))}</li>" for item in items) or "<li>none</li>"
        sections.append(f"<h3>{heading} ({len(items)})</h3><ul>{listed}</ul>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title(content))}</title></head><body>"
        f"<h1>{html.escape(title(content))}</h1>"
        f"<p>Compared with {content['previous_from']} to {content['previous_to']}. "
        f"Generated {content['generated_at']}. Ship-by rule: {html.escape(content.get('ship_by_rule') or '-')}.</p>"
        "<table border='1' cellspacing='0' cellpadding='4'><tr><th>Area</th><th>KPI</th><th>Value</th>"
        f"<th>Previous</th><th>Change</th></tr>{rows}</table>"
        f"<h2>Trend</h2>{charts}<h2>Exceptions</h2>{''.join(sections)}</body></html>"
    )


def _describe(item: dict[str, Any]) -> str:
    return ", ".join(f"{k} {shown(v)}" for k, v in item.items() if v is not None)


def to_csv(content: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "area", "kpi", "value", "previous", "change"])
    for r in content["headlines"]:
        writer.writerow(["kpi", r["family"], r["kpi"], _cell(r["value"]), _cell(r["previous"]), _cell(r["change"])])
    for key in EXCEPTION_TITLES:
        for item in content["exceptions"][key]:
            writer.writerow(["exception", key, _describe(item), "", "", ""])
    for p in content["series"]:
        writer.writerow(["series", "fulfillment", p["period"], p["orders"], p["on_time_delivery_rate"], ""])
    return out.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def to_pdf(content: dict[str, Any]) -> bytes:
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin(title(content)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(
        0,
        6,
        _latin(f"Compared with {content['previous_from']} to {content['previous_to']}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "B", 9)
    for heading, width in (("Area", 28), ("KPI", 70), ("Value", 30), ("Previous", 30), ("Change", 30)):
        pdf.cell(width, 6, heading, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for r in content["headlines"]:
        for text, width in (
            (r["family"], 28), (r["kpi"], 70), (shown(r["value"]), 30), (shown(r["previous"]), 30),
            (signed(r["change"]), 30),
        ):  # fmt: skip
            pdf.cell(width, 6, _latin(text), border=1)
        pdf.ln()
    _pdf_chart(pdf, content["series"])
    for key, heading in EXCEPTION_TITLES.items():
        items = content["exceptions"][key]
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 7, _latin(f"{heading} ({len(items)})"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=8)
        for item in items[:40]:
            pdf.multi_cell(0, 5, _latin(_describe(item)), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _pdf_chart(pdf: FPDF, series: list[dict[str, Any]]) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 7, "Orders placed per day", new_x="LMARGIN", new_y="NEXT")
    top = max([p["orders"] for p in series] or [1]) or 1
    x0, y0 = pdf.get_x(), pdf.get_y() + 30
    for index, p in enumerate(series):
        h = 28 * p["orders"] / top
        pdf.set_fill_color(59, 110, 165)
        pdf.rect(x0 + index * 8, y0 - h, 6, h, style="F")
        pdf.set_font("Helvetica", size=6)
        pdf.text(x0 + index * 8, y0 + 4, p["period"][-2:])
    pdf.set_y(y0 + 8)


def _latin(text: str) -> str:
    """The PDF's core fonts cover Latin-1 only."""
    return text.encode("latin-1", "replace").decode("latin-1")
