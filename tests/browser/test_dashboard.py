"""The dashboard as a province supervisor sees it: charts drawn by the vendored Chart.js (no request leaves
the machine, no script blocked by the content security policy), drill-down to a district and a ward, the
2025 structure; screenshots kept in test-artifacts/ (ignored by git)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import Site
from tests.browser.test_journeys import login

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHARTS = ("chart-coverage", "chart-doses", "chart-vaccines")
DRAWN = """id => {
  const canvas = document.getElementById(id);
  const chart = canvas && window.Chart ? Chart.getChart(canvas) : null;
  if (!chart) return null;
  // Some pixel actually painted: the canvas is not blank.
  const ctx = canvas.getContext('2d');
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4 * 16) if (pixels[i] > 0) painted++;
  return {
    type: chart.config.type,
    labels: chart.data.labels.length,
    points: chart.data.datasets.map(d => d.data.filter(x => x !== null).length),
    width: canvas.width,
    painted: painted,
  };
}"""


def drawn(page: Page, chart_id: str) -> dict[str, Any]:
    info = page.evaluate(DRAWN, chart_id)
    assert info is not None, f"{chart_id} not drawn"
    assert info["labels"] > 0 and min(info["points"]) > 0, info
    assert info["width"] > 0 and info["painted"] > 0, info
    return dict(info)


def test_province_supervisor_drills_down_with_charts(page: Page, site: Site):
    problems: list[str] = []
    outside: list[str] = []
    # Failed loads are told by the responses below, with their address.
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )

    def only_local(request: Request) -> None:
        if not request.url.startswith(site.url):
            outside.append(request.url)

    page.on("request", only_local)
    district, ward = site.wards["giamsat_huyen"], site.wards["phuong_a"]
    ARTIFACTS.mkdir(exist_ok=True)

    login(page, site, "giamsat_tinh")
    page.get_by_role("link", name="Bảng theo dõi").click()
    page.wait_for_url(re.compile(r".*/dashboard$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bảng theo dõi tiêm chủng")
    for chart_id in CHARTS:
        drawn(page, chart_id)
    assert drawn(page, "chart-coverage")["type"] == "bar"
    assert drawn(page, "chart-doses")["type"] == "line"
    # The numbers are also in a table: one row per district, as many as the chart's bars.
    rows = page.locator("#coverage tbody tr")
    assert rows.count() == drawn(page, "chart-coverage")["labels"]
    page.screenshot(path=str(ARTIFACTS / "dashboard-province.png"), full_page=True)

    page.locator(f'#coverage a[href^="/dashboard/legacy/district/{district}"]').click()
    page.wait_for_url(re.compile(rf".*/dashboard/legacy/district/{district}\?units=legacy$"))
    drawn(page, "chart-coverage")
    expect(page.locator(f'#coverage tr[data-unit="{ward}"]')).to_have_count(1)

    page.locator(f'#coverage a[href^="/dashboard/legacy/ward/{ward}"]').click()
    page.wait_for_url(re.compile(rf".*/dashboard/legacy/ward/{ward}\?units=legacy$"))
    drawn(page, "chart-doses")
    expect(page.locator("nav.trail a")).to_have_count(2)  # province › district › (this ward)
    page.screenshot(path=str(ARTIFACTS / "dashboard-ward.png"), full_page=True)

    # Back to the province, in the 2025 structure: wards directly under the province.
    page.locator("nav.trail a").first.click()
    page.get_by_role("link", name=re.compile("Từ 2025")).click()
    page.wait_for_url(re.compile(r".*/dashboard\?units=2025$"))
    expect(page.locator("#coverage-title")).to_contain_text("Phường/xã")
    drawn(page, "chart-coverage")
    page.screenshot(path=str(ARTIFACTS / "dashboard-province-2025.png"), full_page=True)

    assert not problems, problems
    assert not outside, outside
    assert (ARTIFACTS / "dashboard-province.png").stat().st_size > 10_000
