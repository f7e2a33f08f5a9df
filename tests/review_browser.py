"""Drive review pages in headless Chromium, for tests, a benchmark and the docs.

Chromium and its driver come from Debian's packages (``apt-get install -y
chromium chromium-driver``: ``/usr/bin/chromium``, ``/usr/bin/chromedriver``;
``SKLEARN_NOISY_CHROMIUM`` and ``SKLEARN_NOISY_CHROMEDRIVER`` point elsewhere)
and Selenium from PyPI, which is told where the driver is so that it never
tries to download one. The screenshot in the docs is made by this module::

    python tests/review_browser.py --screenshot docs/_static/review_page.png
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = os.environ.get("SKLEARN_NOISY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SKLEARN_NOISY_CHROMEDRIVER", "/usr/bin/chromedriver")
# Flags that let Chromium run as root in a container on a closed network:
# without the background-networking ones its start-up connections are refused.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WINDOW = (1280, 720)


def browser_missing():
    """Return why no browser can run here, or None when one can."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).is_file():
            return f"{path} is missing (apt-get install -y {package})"
    return None


class Browser:
    """A headless Chromium with its own profile and download folder."""

    def __init__(self, window=WINDOW):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = Path(tempfile.mkdtemp(prefix="sklearn-noisy-chromium-"))
        self.downloads = self.profile / "downloads"
        self.downloads.mkdir()
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile / 'profile'}")
        options.add_argument(f"--window-size={window[0]},{window[1]}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior",
            {"behavior": "allow", "downloadPath": str(self.downloads)},
        )

    def close(self):
        """Quit the browser and remove its profile."""
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # ------------------------------------------------------------ pages
    def open(self, path, timeout=20, *, forget=True):
        """Open a review page and wait until it is ready.

        The page keeps its decisions in the browser's local storage, keyed by
        its data; ``forget`` clears them first, so that each test starts from
        an undecided page.
        """
        self.driver.switch_to.default_content()
        self.driver.get(Path(path).resolve().as_uri())
        self.wait_ready(timeout)
        if forget and self.js("return localStorage.length"):
            self.js("localStorage.clear()")
            self.driver.refresh()
            self.wait_ready(timeout)

    def wait_ready(self, timeout=20):
        """Wait until the current document says the page has rendered."""
        script = "return document.documentElement.dataset.ready === 'true'"
        self.wait(lambda: self.driver.execute_script(script), timeout, "page ready")

    def wait(self, condition, timeout=10, what="condition"):
        """Poll ``condition()`` until it is true; return its value."""
        stop = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > stop:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.05)

    def js(self, script, *args):
        """Run ``script`` in the page and return its value."""
        return self.driver.execute_script(script, *args)

    def page_data(self):
        """Return the page's embedded data (the JSON block)."""
        return self.js(
            "return JSON.parse(document.getElementById('review-data').textContent)"
        )

    def press(self, *keys):
        """Send keys to the focused element, one after the other."""
        from selenium.webdriver.common.action_chains import ActionChains

        for key in keys:
            ActionChains(self.driver).send_keys(key).perform()

    def text(self, selector):
        """Return the textContent of the first element matching ``selector``."""
        return self.js(
            "return document.querySelector(arguments[0]).textContent", selector
        )

    def rows(self):
        """Return the rendered list rows: data-row, rank and labels shown."""
        return self.js(
            """return Array.from(document.querySelectorAll('#spacer .row')).map(r => ({
                row: Number(r.dataset.row), id: r.dataset.id,
                rank: r.querySelector('.rank').textContent,
                given: r.querySelector('.label.given').textContent,
                predicted: r.querySelector('.label.predicted').textContent,
                badge: r.querySelector('.badge').textContent,
                current: r.classList.contains('current')}))"""
        )

    def export(self, timeout=10):
        """Click the export button; return (file name, text) of the download."""
        before = set(self.downloads.iterdir())
        self.driver.find_element("id", "export").click()

        def finished():
            new = [
                f
                for f in set(self.downloads.iterdir()) - before
                if not f.name.endswith(".crdownload")
            ]
            return new[0] if new else None

        path = self.wait(finished, timeout, "the exported CSV")
        return path.name, path.read_text(encoding="utf-8-sig")

    def console_errors(self):
        """Return the page's console messages of level SEVERE."""
        return [
            e["message"]
            for e in self.driver.get_log("browser")
            if e["level"] == "SEVERE"
        ]

    def screenshot(self, path):
        """Save a PNG screenshot of the window to ``path``."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return Path(path)


# ------------------------------------------------------------ hostile data
# Labels, texts and file names that would run script or break markup if the
# page ever wrote them as HTML, plus quotes, commas and non-Latin letters that
# the CSV export must carry unchanged.
HOSTILE_LABELS = (
    "<script>window.__pwned = 1</script>",
    '"><img src=x onerror="window.__pwned = 2">',
    'chat, "noir" 猫 кошка',
)
HOSTILE_TEXT = "</script><script>window.__pwned = 3</script><b>bold</b> & &amp; «ü»"
# Folder and file names cannot hold "/", so images get labels without it.
HOSTILE_FOLDERS = ("<b>bold", '"><svg onload=window.__pwned=4>', "猫 'cat'")
HOSTILE_FILE = '"><img src=x onerror=window.__pwned=5>, 猫.png'


def hostile_table(path, n=60, seed=0):
    """Write a CSV of ``n`` rows: two numbers, a hostile text, a hostile label."""
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(seed)
    code = np.arange(n) % 3
    table = pd.DataFrame(
        {
            "size": code + rng.normal(scale=0.5, size=n),
            "weight": rng.normal(size=n),
            "note": [f"{HOSTILE_TEXT} {i}" for i in range(n)],
            "label": np.asarray(HOSTILE_LABELS, dtype=object)[code],
        }
    )
    table.to_csv(path, index=False)
    return table


def hostile_images(root, n_per_class=6, size=10, seed=0):
    """Write a folder of small PNGs in hostile class folders and file names."""
    import numpy as np
    from PIL import Image

    rng = np.random.RandomState(seed)
    for k, name in enumerate(HOSTILE_FOLDERS):
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = rng.randint(0, 60, size=(size, size)).astype(np.uint8)
            pixels[:, 3 * k : 3 * k + 3] = 230
            file = HOSTILE_FILE if i == 0 else f"{i}.png"
            Image.fromarray(pixels, mode="L").save(root / name / file)
    return root


def injected(browser):
    """Return what hostile strings managed to do to the page, if anything."""
    return browser.js(
        """return {
            pwned: window.__pwned === undefined ? null : window.__pwned,
            bold: document.querySelectorAll('b').length,
            foreignImages: document.querySelectorAll('img:not(.thumb):not(.big-image)')
                .length,
            foreignSvg: document.querySelectorAll('svg:not(.spark)').length,
            scripts: document.scripts.length}"""
    )


# ------------------------------------------------------------- the docs page
def digits_page(path, max_epochs=20, random_state=0):
    """Write the review page of digits with 20% pair noise; return the page."""
    from sklearn.datasets import load_digits

    from sklearn_noisy import MislabelDetector
    from sklearn_noisy.noise import inject_label_noise, make_transition_matrix
    from sklearn_noisy.review import review_page

    X, y = load_digits(return_X_y=True)
    T = make_transition_matrix(10, 0.2, kind="pair")  # T[i, j] = P(j | true i)
    y_noisy = inject_label_noise(y, transition_matrix=T, random_state=random_state)
    detector = MislabelDetector(
        max_epochs=max_epochs, record_trajectory=True, random_state=random_state
    ).fit(X / 16, y_noisy)
    page = review_page(
        detector, X.reshape(-1, 8, 8), y_noisy, title="Review of load_digits"
    )
    page.save(path)
    return page


def save_review_screenshot(browser, page_path, image_path):
    """Open a page, make a few decisions with the keyboard, and screenshot it."""
    browser.open(page_path)
    browser.press("k", "r", "d", "r")  # keep, relabel, drop, relabel; on to 5
    return browser.screenshot(image_path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", metavar="PNG", required=True)
    args = parser.parse_args(argv)
    reason = browser_missing()
    if reason:
        sys.exit(f"no browser: {reason}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "review.html"
        digits_page(page)
        browser = Browser(window=(1280, 860))
        try:
            save_review_screenshot(browser, page, args.screenshot)
        finally:
            browser.close()
    print(f"Screenshot written to {args.screenshot}")


if __name__ == "__main__":
    main()
