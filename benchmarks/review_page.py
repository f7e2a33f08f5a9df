"""Time a 10,000-row review page in headless Chromium (issue 10).

The target: a page listing 10,000 suspects opens in under 2 s and scrolls
smoothly. This script fits a MislabelDetector on 20,000 synthetic 24x24
images (load_digits upsampled 3x, with pixel noise; an MLP on the flat
pixels, ``max_epochs`` epochs, dynamics recorded), writes the review page of
its ``--rows`` lowest scores (image thumbnails, sparklines) and, as the
baseline measured in the same run, the page of its 100 lowest scores, and
opens each ``--repeats`` times, taking turns, in a fresh navigation of
Debian's headless Chromium (``tests/review_browser.py``). Measured by the
browser's performance API:

* **first row**: time from the start of navigation to the page's own
  ``review-first-row`` mark, set once the data are parsed and the first rows
  and the detail panel are in the document;
* **load**: ``loadEventEnd`` of the navigation;
* **scroll**: 120 animation frames, each scrolling the list by 440 px (5
  rows, a fast fling: 26,000 px/s at 60 frames per second), wrapping round at
  the end so that every frame brings new rows on both pages; the intervals
  between frames (median, 95th percentile, max; 16.7 ms is 60 frames per
  second), the browser's long tasks (over 50 ms), and the rows in the
  document after loading and after scrolling (the larger).

Speed is never asserted: the ratios to the 100-row baseline show what the
list's length costs. Usage::

    python benchmarks/review_page.py --out docs/user_guide/review.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests"), str(ROOT)]
from _common import command_line, write_marked_section  # noqa: E402
from review_browser import CHROMIUM, Browser, browser_missing  # noqa: E402

_SCROLL = """
const done = arguments[arguments.length - 1];
const list = document.getElementById("list");
const frames = [];
let long = 0;
const observer = new PerformanceObserver(l => { long += l.getEntries().length; });
try { observer.observe({entryTypes: ["longtask"]}); } catch (e) {}
let last = null, step = 0;
function tick(now) {
  if (last !== null) frames.push(now - last);
  last = now;
  if (step++ < 120) {
    list.scrollTop = (list.scrollTop + 440) % (list.scrollHeight - list.clientHeight);
    requestAnimationFrame(tick);
  }
  else {
    observer.disconnect();
    const rows = document.querySelectorAll("#spacer .row").length;
    done({frames: frames, long: long, rows: rows, top: list.scrollTop});
  }
}
requestAnimationFrame(tick);
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows listed")
    parser.add_argument("--max-epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", help="markdown file to write the results into")
    return parser.parse_args(argv)


def make_pages(folder, n_rows, max_epochs):
    """Fit the detector; write the big page and the 100-row baseline page."""
    from sklearn.datasets import load_digits

    from sklearn_noisy import MislabelDetector
    from sklearn_noisy.review import review_page

    digits, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    take = rng.randint(0, len(y), size=2 * n_rows)
    images = np.kron(digits[take].reshape(-1, 8, 8) / 16, np.ones((3, 3)))
    images = np.clip(images + rng.normal(scale=0.08, size=images.shape), 0, 1)
    labels = y[take].copy()
    flip = rng.rand(len(labels)) < 0.2
    labels[flip] = (labels[flip] + 1) % 10
    X = images.reshape(len(images), -1).astype(np.float32)
    start = time.perf_counter()
    detector = MislabelDetector(
        max_epochs=max_epochs, record_trajectory=True, random_state=0
    ).fit(X, labels)
    fit = time.perf_counter() - start
    pages = {}
    for name, n in (("baseline", 100), ("big", n_rows)):
        start = time.perf_counter()
        page = review_page(detector, images, labels, n=n)
        build = time.perf_counter() - start
        path = page.save(Path(folder) / f"{name}.html")
        pages[name] = (path, n, build, path.stat().st_size)
    return pages, fit


def measure(browser, path):
    """Open ``path`` in a fresh navigation; return its timings and scrolling."""
    browser.driver.get("about:blank")
    start = time.perf_counter()
    browser.open(path, timeout=60)
    wall = time.perf_counter() - start
    timing = browser.js(
        "const n = performance.getEntriesByType('navigation')[0];"
        "const m = performance.getEntriesByName('review-first-row')[0];"
        "return [m.startTime, n.loadEventEnd,"
        " document.querySelectorAll('#spacer .row').length]"
    )
    scroll = browser.driver.execute_async_script(_SCROLL)
    return {
        "first": timing[0],
        "load": timing[1],
        "dom": timing[2],
        "wall": wall * 1000,
        **scroll,
    }


def summary(runs):
    frames = sorted(f for run in runs for f in run["frames"])
    return {
        "first": statistics.median(r["first"] for r in runs),
        "first_max": max(r["first"] for r in runs),
        "load": statistics.median(r["load"] for r in runs),
        "wall": statistics.median(r["wall"] for r in runs),
        "dom": max(max(r["dom"], r["rows"]) for r in runs),
        "frame_median": statistics.median(frames),
        "frame_p95": frames[int(0.95 * (len(frames) - 1))],
        "frame_max": frames[-1],
        "long": sum(r["long"] for r in runs),
    }


def report(pages, results, fit, max_epochs):
    lines = [
        f"{'page':>12s} {'size MB':>8s} {'build s':>8s} {'first row ms':>13s} "
        f"{'(max)':>7s} {'load ms':>8s} {'DOM rows':>9s} {'frame ms':>9s} "
        f"{'p95':>6s} {'max':>6s} {'long tasks':>10s}"
    ]
    for name in ("baseline", "big"):
        _, n, build, size = pages[name]
        s = results[name]
        lines.append(
            f"{f'{n:,} rows':>12s} {size / 1e6:8.2f} {build:8.2f} {s['first']:13.0f} "
            f"{s['first_max']:7.0f} {s['load']:8.0f} {s['dom']:9d} "
            f"{s['frame_median']:9.1f} {s['frame_p95']:6.1f} {s['frame_max']:6.1f} "
            f"{s['long']:10d}"
        )
    big, base = results["big"], results["baseline"]
    ratio = {k: big[k] / base[k] for k in ("first", "load", "frame_median")}
    lines += [
        "",
        f"{pages['big'][1]:,}-row page / 100-row page: first row "
        f"{ratio['first']:.2f}x, load {ratio['load']:.2f}x, median frame while "
        f"scrolling {ratio['frame_median']:.2f}x",
        f"(the detector's fit on {2 * pages['big'][1]:,} images, {max_epochs} epochs: "
        f"{fit:.1f} s; build: review_page's time in Python)",
    ]
    return lines


def main(argv=None):
    args = parse_args(argv)
    reason = browser_missing()
    if reason:
        sys.exit(f"no browser: {reason}")
    command = command_line(__file__, argv)
    import subprocess

    version = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True
    ).stdout.strip()
    out = [
        f"{version}, headless; {os.cpu_count()} CPUs ({platform.machine()}); "
        f"{args.repeats} fresh loads per page; load average "
        f"{os.getloadavg()[0]:.2f} at start"
    ]
    print(out[0], flush=True)
    with tempfile.TemporaryDirectory() as folder:
        pages, fit = make_pages(folder, args.rows, args.max_epochs)
        browser = Browser()
        runs = {name: [] for name in pages}
        try:
            # The pages take turns within each repeat, so that a busy moment
            # of a shared machine falls on both.
            for _ in range(args.repeats):
                for name, (path, *_) in pages.items():
                    runs[name].append(measure(browser, path))
        finally:
            browser.close()
        results = {name: summary(r) for name, r in runs.items()}
    out += [f"load average {os.getloadavg()[0]:.2f} at end", ""]
    out += report(pages, results, fit, args.max_epochs)
    print("\n".join(out[1:]))
    if args.out:
        body = "\n".join(["```text", f"$ {command.strip()}", *out, "```"])
        write_marked_section(args.out, "review-bench", body, heading="# Review")


if __name__ == "__main__":
    main()
