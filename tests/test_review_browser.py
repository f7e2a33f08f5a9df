"""End-to-end tests of the review page in headless Chromium (issue 10).

The page is written by ``sklearn-noisy review`` (or ``review_page``), opened
in Debian's Chromium through Selenium, decided with the keyboard, exported
through the page's own download button, and applied with
``sklearn-noisy apply``. The module skips where no browser can run.
"""

import csv
import io

import numpy as np
import pandas as pd
import pytest
from review_browser import (
    HOSTILE_FILE,
    HOSTILE_FOLDERS,
    HOSTILE_LABELS,
    Browser,
    browser_missing,
    hostile_images,
    hostile_table,
    injected,
    save_review_screenshot,
)

from sklearn_noisy.cli import main

REASON = browser_missing()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no browser: {REASON}")
FAST = ["--max-epochs", "2"]
ARROW_DOWN, ARROW_UP, ENTER = "\ue015", "\ue013", "\ue007"
CLEAN = {"pwned": None, "bold": 0, "foreignImages": 0, "foreignSvg": 0, "scripts": 2}


@pytest.fixture(scope="module")
def browser():
    browser = Browser()
    yield browser
    browser.close()


@pytest.fixture
def table_page(tmp_path):
    """Return (data CSV, review page) of the hostile table, 12 rows listed."""
    data, page = tmp_path / "data.csv", tmp_path / "page.html"
    hostile_table(data)
    args = ["review", str(data), "--target", "label", "--text", "note"]
    assert main([*args, "--out", str(page), "--rows", "12", *FAST]) == 0
    return data, page


class Plan:
    """The decisions a test makes, as the page should export them."""

    def __init__(self, data):
        self.rows, self.classes = data["rows"], data["classes"]
        self.decided = {}

    def add(self, position, decision, cls=None):
        if decision == "relabel" and cls == self.rows["given"][position]:
            decision = "keep"  # relabelling to the given label is a keep
        new = self.classes[cls] if decision == "relabel" else ""
        self.decided[position] = (decision, new)

    def csv_rows(self, id_name):
        out = [[id_name, "given_label", "decision", "new_label"]]
        for p in sorted(self.decided):
            given = self.classes[self.rows["given"][p]]
            out.append([self.rows["id"][p], given, *self.decided[p]])
        return out


def _decide_by_keyboard(browser, plan):
    """Decide rows 1-8 with every kind of shortcut; return the plan."""
    rows = plan.rows
    browser.press("k")
    plan.add(0, "keep")
    browser.press("r")
    plan.add(1, "relabel", rows["predicted"][1])
    browser.press("d")
    plan.add(2, "drop")
    browser.press("3")
    plan.add(3, "relabel", 2)
    target = plan.classes.index(HOSTILE_LABELS[2])
    browser.press("c", HOSTILE_LABELS[2][:4], ENTER)  # choose by name
    plan.add(4, "relabel", target)
    browser.press(ARROW_DOWN, "d")  # row 6 left undecided
    plan.add(6, "drop")
    browser.press("k", ARROW_UP, "u")  # decided, then undone
    return plan


def test_review_page_round_trip_table_in_browser(browser, table_page, tmp_path):
    """Check review -> keyboard decisions -> export -> apply gives exactly them."""
    data, page = table_page
    original = data.read_bytes()
    browser.open(page)
    assert browser.console_errors() == []
    assert browser.js("return window.sklearnNoisyReview.rowCount") == 12
    assert browser.text("#progress") == "0 of 12 reviewed"
    shown = browser.rows()
    assert [r["rank"] for r in shown[:5]] == ["1", "2", "3", "4", "5"]
    assert {r["given"] for r in shown} <= set(HOSTILE_LABELS)
    assert browser.text(".full-text").startswith("</script><script>")

    plan = _decide_by_keyboard(browser, Plan(browser.page_data()))
    assert browser.text("#progress") == f"{len(plan.decided)} of 12 reviewed"
    badges = {r["row"]: r["badge"] for r in browser.rows()}
    assert badges[5] == badges[7] == "undecided"
    assert badges[2] == "drop"
    name, text = browser.export()
    assert name == "data-decisions.csv"
    assert list(csv.reader(io.StringIO(text))) == plan.csv_rows("row")
    assert injected(browser) == CLEAN
    fetched = browser.js(
        "return performance.getEntriesByType('resource')"
        ".map(e => e.name).filter(n => !n.startsWith('data:'))"
    )
    assert fetched == []  # offline: nothing but the file itself

    decisions, cleaned = tmp_path / name, tmp_path / "cleaned.csv"
    decisions.write_text(text, encoding="utf-8")
    args = ["apply", str(data), str(decisions), "--target", "label"]
    assert main([*args, "--out", str(cleaned)]) == 0
    assert data.read_bytes() == original
    expected = pd.read_csv(data, dtype=str, keep_default_na=False)
    for position, (decision, new) in plan.decided.items():
        row = plan.rows["index"][position]
        if decision == "drop":
            expected = expected.drop(index=row)
        elif decision == "relabel":
            expected.loc[row, "label"] = new
    got = pd.read_csv(cleaned, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True))


def test_review_page_round_trip_images_in_browser(browser, tmp_path):
    """Check thumbnails load and hostile file names round-trip through apply."""
    root = hostile_images(tmp_path / "shapes")
    files = sorted(p.relative_to(root) for p in root.rglob("*.png"))
    page = tmp_path / "page.html"
    args = ["review", str(root), "--image-size", "10", "--rows", "8"]
    assert main([*args, "--out", str(page), *FAST]) == 0
    browser.open(page)
    loaded = browser.js(
        "const imgs = Array.from("
        "    document.querySelectorAll('img.thumb, img.big-image'));"
        "return [imgs.length, imgs.every(i => i.complete && i.naturalWidth > 0)]"
    )
    assert loaded[0] >= 6 and loaded[1]
    data = browser.page_data()
    assert {r["given"] for r in browser.rows()} <= set(HOSTILE_FOLDERS)
    plan = Plan(data)
    browser.press("d", "r", "1")
    plan.add(0, "drop")
    plan.add(1, "relabel", data["rows"]["predicted"][1])
    plan.add(2, "relabel", 0)
    name, text = browser.export()
    assert list(csv.reader(io.StringIO(text))) == plan.csv_rows("path")
    assert injected(browser) == CLEAN

    decisions, listing = tmp_path / name, tmp_path / "cleaned.csv"
    decisions.write_text(text, encoding="utf-8")
    assert main(["apply", str(root), str(decisions), "--out", str(listing)]) == 0
    assert sorted(p.relative_to(root) for p in root.rglob("*.png")) == files
    expected = {p.as_posix(): p.parent.name for p in files}
    for position, (decision, new) in plan.decided.items():
        path = data["rows"]["id"][position]
        if decision == "drop":
            del expected[path]
        elif decision == "relabel":
            expected[path] = new
    got = pd.read_csv(listing, dtype=str, keep_default_na=False)
    assert dict(zip(got["path"], got["label"], strict=True)) == expected
    assert any(p.endswith(HOSTILE_FILE) for p in got["path"])


def test_review_page_filters_and_progress(browser, table_page):
    """Check that the label filters narrow the list and progress counts all rows."""
    from selenium.webdriver.support.ui import Select

    browser.open(table_page[1])
    rows = browser.page_data()["rows"]
    given = Select(browser.driver.find_element("id", "filter-given"))
    cls = rows["given"][0]
    given.select_by_value(str(cls))
    n_given = rows["given"].count(cls)
    assert browser.text("#shown") == f"{n_given} shown"
    assert all(r["row"] in range(12) for r in browser.rows())
    assert {rows["given"][r["row"]] for r in browser.rows()} == {cls}
    predicted = Select(browser.driver.find_element("id", "filter-predicted"))
    pred = rows["predicted"][0]
    predicted.select_by_value(str(pred))
    pairs = zip(rows["given"], rows["predicted"], strict=True)
    both = sum(g == cls and p == pred for g, p in pairs)
    assert browser.text("#shown") == f"{both} shown"
    browser.press("d")
    assert browser.text("#progress") == "1 of 12 reviewed"
    given.select_by_value("all")
    predicted.select_by_value("all")
    Select(browser.driver.find_element("id", "filter-status")).select_by_value(
        "decided"
    )
    assert browser.text("#shown") == "1 shown"
    assert [r["badge"] for r in browser.rows()] == ["drop"]


def test_review_page_keeps_decisions_across_reloads(browser, table_page):
    """Check that decisions survive closing and reopening the page."""
    browser.open(table_page[1])
    browser.press("d", "k")
    browser.open(table_page[1], forget=False)
    assert browser.text("#progress") == "2 of 12 reviewed"
    assert "2 decisions restored" in browser.text("#summary")
    assert [r["badge"] for r in browser.rows()[:3]] == ["drop", "keep", "undecided"]


def test_review_page_renders_10000_rows_lazily(browser, tmp_path):
    """Check that a 10,000-row page keeps a few dozen rows in the DOM."""
    from sklearn_noisy import MislabelDetector
    from sklearn_noisy.review import review_page

    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(10_000, 4)), rng.randint(0, 3, size=10_000)
    detector = MislabelDetector(max_epochs=1, batch_size=1000, random_state=0)
    detector.set_params(record_trajectory=True).fit(X, y)
    path = review_page(detector, X, y, n=10_000).save(tmp_path / "big.html")
    browser.open(path)
    assert browser.js("return window.sklearnNoisyReview.rowCount") == 10_000
    assert 5 < len(browser.rows()) < 60
    browser.press("\ue010")  # End
    shown = browser.rows()
    assert 5 < len(shown) < 60
    current = [r for r in shown if r["current"]]
    assert [r["rank"] for r in current] == ["10000"]


def test_review_page_inline_iframe_in_browser(browser, table_page, tmp_path):
    """Check that the notebook frame (srcdoc) renders and takes decisions."""
    from sklearn_noisy.review import ReviewPage

    page = ReviewPage(table_page[1].read_text(encoding="utf-8"), 12)
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><body>{page._repr_html_()}</body>", "utf-8")
    browser.driver.get(host.resolve().as_uri())
    assert browser.js("return document.scripts.length") == 0
    browser.driver.switch_to.frame(browser.driver.find_element("tag name", "iframe"))
    browser.wait_ready()
    assert len(browser.rows()) > 3
    browser.driver.find_element("css selector", "#spacer .row").click()
    browser.press("k")
    assert browser.text("#progress") == "1 of 12 reviewed"
    assert injected(browser) == CLEAN
    browser.driver.switch_to.default_content()


def test_review_page_screenshot_helper(browser, table_page, tmp_path):
    """Check that the docs' screenshot helper writes a non-blank window image."""
    from PIL import Image

    shot = save_review_screenshot(browser, table_page[1], tmp_path / "shot.png")
    with Image.open(shot) as image:
        assert image.size[0] >= 1000
        low, high = image.convert("L").getextrema()
    assert high - low > 100
