// The review page of sklearn-noisy: a lazily rendered list of suspects, a
// detail panel, keyboard decisions, filters and a CSV export. Every string
// from the data is set with textContent or as an attribute value, never as
// markup, so labels, texts and file names cannot inject HTML.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("review-data").textContent);
  var R = DATA.rows;
  var N = R.id.length;
  var CLASSES = DATA.classes;
  var ROW_H = 88;
  var OVERSCAN = 6;
  var SVG = "http://www.w3.org/2000/svg";
  var STORE = "sklearn-noisy-review:" + DATA.key;
  var KIND = R.image ? "images" : R.features ? "table" : "text";

  var decisions = new Array(N).fill(null); // {d: "keep"|"relabel"|"drop", c: class index}
  var view = []; // positions in R of the rows that pass the filters
  var cur = -1; // index into view of the current row
  var rendered = new Map(); // index into view -> row element
  var pending = false;

  var $ = function (id) { return document.getElementById(id); };
  var list = $("list"), spacer = $("spacer"), detail = $("detail");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function fmt(v, digits) {
    return v === null || v === undefined ? "\u2014" : Number(v).toFixed(digits);
  }
  function fmtScore(v) {
    return v === null || v === undefined ? "\u2014" : String(Number(Number(v).toPrecision(4)));
  }
  function label(c) { return CLASSES[c]; }

  // ------------------------------------------------------------ storage
  function save() {
    try {
      var out = {};
      decisions.forEach(function (x, i) { if (x) out[i] = [x.d, x.c]; });
      localStorage.setItem(STORE, JSON.stringify(out));
    } catch (err) { /* storage may be off (private mode, sandbox) */ }
  }
  function restore() {
    var stored = null;
    try { stored = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (err) { return 0; }
    if (!stored) return 0;
    var n = 0;
    Object.keys(stored).forEach(function (key) {
      var i = Number(key), x = stored[key];
      if (i >= 0 && i < N && ["keep", "relabel", "drop"].indexOf(x[0]) >= 0) {
        decisions[i] = {d: x[0], c: x[1]};
        n += 1;
      }
    });
    return n;
  }

  // ---------------------------------------------------------- sparkline
  function sparkline(values, width, height, withAxis) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    var scale = DATA.trajectoryScale, pad = 3, n = values.length;
    var x = function (k) { return n < 2 ? width / 2 : pad + k * (width - 2 * pad) / (n - 1); };
    var y = function (v) {
      var c = Math.max(-scale, Math.min(scale, v));
      return height / 2 - c / scale * (height / 2 - pad);
    };
    var zero = document.createElementNS(SVG, "line");
    zero.setAttribute("class", "zero");
    zero.setAttribute("x1", 0); zero.setAttribute("x2", width);
    zero.setAttribute("y1", height / 2); zero.setAttribute("y2", height / 2);
    svg.appendChild(zero);
    var d = "", open = false, last = -1, sum = 0, count = 0;
    for (var k = 0; k < n; k++) {
      if (values[k] === null) { open = false; continue; }
      d += (open ? "L" : "M") + x(k).toFixed(1) + " " + y(values[k]).toFixed(1);
      open = true;
      last = k;
      sum += values[k];
      count += 1;
    }
    // A negative mean (SEI below 0): the network mostly disagreed with the label.
    var tone = count && sum < 0 ? " negative" : "";
    svg.setAttribute("class", "spark" + tone);
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("class", "curve");
    path.setAttribute("d", d);
    svg.appendChild(path);
    if (last >= 0) {
      var dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("class", "end");
      dot.setAttribute("cx", x(last)); dot.setAttribute("cy", y(values[last]));
      dot.setAttribute("r", withAxis ? 3 : 2);
      svg.appendChild(dot);
    }
    var title = document.createElementNS(SVG, "title");
    title.textContent = "signed entropy per epoch (" + n + " epochs); above the dashed line " +
      "the network agreed with the given label";
    svg.appendChild(title);
    return svg;
  }
  function dynamics(i, width, height, big) {
    if (!R.trajectory) {
      return el("span", "no-trajectory", big ? "No training dynamics: fit the detector " +
        "with record_trajectory=True." : "no dynamics");
    }
    return sparkline(R.trajectory[i], width, height, big);
  }

  // ------------------------------------------------------------ samples
  function featureSnippet(i) {
    var box = el("div", "snippet features");
    var names = R.featureNames, values = R.features[i];
    for (var j = 0; j < values.length && j < 16; j++) {
      if (j) box.appendChild(document.createTextNode("  "));
      box.appendChild(el("span", "name", names[j] + "="));
      box.appendChild(el("span", values[j] === null ? "missing" : "", values[j] === null ? "\u2014" : values[j]));
    }
    return box;
  }
  function sampleCell(i) {
    var cell = el("div", "sample");
    if (R.image) {
      var img = el("img", "thumb");
      img.alt = DATA.idName + " " + R.id[i];
      img.decoding = "async";
      img.src = R.image[i];
      cell.appendChild(img);
    } else if (R.text) {
      cell.appendChild(el("div", "snippet", R.text[i]));
    } else {
      cell.appendChild(featureSnippet(i));
    }
    return cell;
  }
  function badge(i) {
    var x = decisions[i];
    if (!x) return el("span", "badge none", "undecided");
    var text = x.d === "relabel" ? "\u2192 " + label(x.c) : x.d;
    var node = el("span", "badge " + x.d, text);
    node.title = x.d === "relabel" ? "relabel to " + label(x.c) : x.d;
    return node;
  }

  // --------------------------------------------------------------- list
  function makeRow(pos) {
    var i = view[pos];
    var row = el("div", "row");
    row.setAttribute("role", "option");
    row.dataset.row = i;
    row.dataset.id = R.id[i];
    row.style.top = pos * ROW_H + "px";
    if (pos === cur) { row.classList.add("current"); row.setAttribute("aria-selected", "true"); }
    if (decisions[i]) row.classList.add("decided-" + decisions[i].d);
    row.appendChild(el("span", "rank", String(i + 1)));
    row.appendChild(sampleCell(i));
    var meta = el("div", "meta");
    var idLine = el("div", "id", DATA.idName + " " + R.id[i]);
    idLine.title = R.id[i];
    meta.appendChild(idLine);
    var given = el("div");
    given.appendChild(document.createTextNode("given "));
    given.appendChild(el("span", "label given", label(R.given[i])));
    meta.appendChild(given);
    var predicted = el("div");
    predicted.appendChild(document.createTextNode("predicted "));
    predicted.appendChild(el("span", "label predicted", label(R.predicted[i])));
    predicted.appendChild(document.createTextNode(" (" + fmt(R.pPredicted[i], 2) + ")"));
    meta.appendChild(predicted);
    meta.appendChild(el("div", "score", "score " + fmtScore(R.score[i])));
    row.appendChild(meta);
    row.appendChild(dynamics(i, 180, 44, false));
    row.appendChild(badge(i));
    row.addEventListener("click", function () { select(pos); list.focus(); });
    return row;
  }
  function renderList() {
    var top = list.scrollTop, height = list.clientHeight || 600;
    var first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    var last = Math.min(view.length - 1, Math.ceil((top + height) / ROW_H) + OVERSCAN);
    rendered.forEach(function (node, pos) {
      if (pos < first || pos > last) { node.remove(); rendered.delete(pos); }
    });
    for (var pos = first; pos <= last; pos++) {
      if (!rendered.has(pos)) {
        var node = makeRow(pos);
        spacer.appendChild(node);
        rendered.set(pos, node);
      }
    }
  }
  function refreshRow(pos) {
    var old = rendered.get(pos);
    if (!old) return;
    var node = makeRow(pos);
    old.replaceWith(node);
    rendered.set(pos, node);
  }
  function ensureVisible(pos) {
    var top = pos * ROW_H, bottom = top + ROW_H;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (bottom > list.scrollTop + list.clientHeight) list.scrollTop = bottom - list.clientHeight;
  }
  list.addEventListener("scroll", function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; renderList(); });
  }, {passive: true});

  // ------------------------------------------------------------- detail
  function factRow(table, name, value) {
    var tr = el("tr");
    tr.appendChild(el("th", "", name));
    var td = el("td");
    if (value instanceof Node) td.appendChild(value); else td.textContent = value;
    tr.appendChild(td);
    table.appendChild(tr);
  }
  function detailSample(i) {
    var box = el("div");
    if (R.image) {
      var img = el("img", "big-image");
      img.alt = DATA.idName + " " + R.id[i];
      img.src = R.image[i];
      box.appendChild(img);
    }
    if (R.text) box.appendChild(el("div", "full-text", R.text[i]));
    if (R.features) {
      var table = el("table", "feature-table");
      R.features[i].forEach(function (v, j) {
        var tr = el("tr");
        tr.appendChild(el("th", "", R.featureNames[j]));
        tr.appendChild(el("td", v === null ? "missing" : "", v === null ? "\u2014" : v));
        table.appendChild(tr);
      });
      box.appendChild(table);
      if (R.nFeatures > R.featureNames.length) {
        box.appendChild(el("p", "notice", "First " + R.featureNames.length + " of " +
          R.nFeatures + " columns shown."));
      }
    }
    return box;
  }
  function probaBars(i) {
    var box = el("div");
    R.top[i].forEach(function (c, k) {
      var p = R.topProba[i][k];
      var line = el("div", "proba-bar");
      line.appendChild(el("span", "", label(c)));
      var fill = el("div", "fill");
      fill.style.width = Math.round(90 * (p || 0)) + "px";
      line.appendChild(fill);
      line.appendChild(el("span", "", fmt(p, 2)));
      box.appendChild(line);
    });
    return box;
  }
  function actionButton(cls, text, key, handler) {
    var b = el("button", cls);
    b.type = "button";
    b.appendChild(el("kbd", "", key));
    b.appendChild(document.createTextNode(" " + text));
    b.addEventListener("click", function () { handler(); list.focus(); });
    return b;
  }
  function renderDetail() {
    detail.replaceChildren();
    if (cur < 0) { detail.appendChild(el("p", "notice", "No sample selected.")); return; }
    var i = view[cur];
    detail.appendChild(el("h2", "", "#" + (i + 1) + "  " + DATA.idName + " " + R.id[i]));
    detail.appendChild(detailSample(i));
    var facts = el("table", "facts");
    factRow(facts, "given label", el("span", "label given", label(R.given[i])));
    var pred = el("span");
    pred.appendChild(el("span", "label predicted", label(R.predicted[i])));
    pred.appendChild(document.createTextNode(" (probability " + fmt(R.pPredicted[i], 3) + ")"));
    factRow(facts, "predicted", pred);
    factRow(facts, "P(given label)", fmt(R.pGiven[i], 3));
    factRow(facts, "score (" + DATA.method + ")", fmtScore(R.score[i]) +
      (R.flagged[i] ? ", flagged" : ", not flagged") + " (cut " + fmtScore(DATA.offset) + ")");
    Object.keys(R.scores).forEach(function (name) {
      if (name !== DATA.method) factRow(facts, "score (" + name + ")", fmtScore(R.scores[name][i]));
    });
    factRow(facts, "training index", String(R.index[i]));
    detail.appendChild(facts);
    detail.appendChild(probaBars(i));
    var spark = el("div");
    spark.style.margin = "10px 0 2px";
    spark.appendChild(dynamics(i, 340, 80, true));
    detail.appendChild(spark);
    if (R.trajectory) {
      detail.appendChild(el("p", "notice", "Signed entropy per epoch: above the dashed " +
        "line the network agreed with the given label."));
    }
    var x = decisions[i];
    detail.appendChild(el("div", "decision-line", x ? "Decision: " + (x.d === "relabel" ?
      "relabel to " + label(x.c) : x.d) : "Undecided"));
    var actions = el("div", "actions");
    actions.appendChild(actionButton("keep", "keep", "k", function () { decide("keep"); }));
    actions.appendChild(actionButton("relabel", "relabel to " + label(R.predicted[i]), "r",
      function () { decide("relabel", R.predicted[i]); }));
    actions.appendChild(actionButton("drop", "drop", "d", function () { decide("drop"); }));
    actions.appendChild(actionButton("", "undo", "u", undo));
    detail.appendChild(actions);
    var classes = el("div", "classes");
    CLASSES.slice(0, 9).forEach(function (name, c) {
      var b = actionButton(x && x.d === "relabel" && x.c === c ? "chosen" : "", name,
        String(c + 1), function () { decide("relabel", c); });
      b.title = "relabel to " + name;
      classes.appendChild(b);
    });
    detail.appendChild(classes);
    var input = el("input");
    input.id = "relabel-input";
    input.setAttribute("list", "class-list");
    input.placeholder = "c: relabel to any class\u2026";
    input.setAttribute("aria-label", "relabel to class");
    detail.appendChild(input);
    detail.appendChild(el("p", "notice", ""));
  }

  // ----------------------------------------------------------- actions
  function select(pos) {
    if (!view.length) { cur = -1; renderDetail(); return; }
    pos = Math.max(0, Math.min(view.length - 1, pos));
    var previous = cur;
    cur = pos;
    ensureVisible(pos);
    renderList();
    if (previous !== pos) refreshRow(previous);
    refreshRow(pos);
    renderDetail();
  }
  function decide(d, c) {
    if (cur < 0) return;
    var i = view[cur];
    // Relabelling to the given label changes nothing: it is a keep.
    if (d === "relabel" && c === R.given[i]) d = "keep";
    decisions[i] = {d: d, c: d === "relabel" ? c : null};
    afterChange();
    if (cur < view.length - 1) select(cur + 1);
  }
  function undo() {
    if (cur < 0) return;
    decisions[view[cur]] = null;
    afterChange();
  }
  function afterChange() {
    save();
    refreshRow(cur);
    renderDetail();
    updateProgress();
  }
  function relabelFromInput(input) {
    var text = input.value.trim(), c = CLASSES.indexOf(text);
    if (c < 0) {
      var lower = text.toLowerCase();
      var matches = CLASSES.filter(function (name) { return name.toLowerCase().indexOf(lower) === 0; });
      if (text && matches.length === 1) c = CLASSES.indexOf(matches[0]);
    }
    if (c < 0) {
      input.nextSibling.textContent = "No single class matches \u201c" + text + "\u201d.";
      return;
    }
    list.focus();
    decide("relabel", c);
  }
  function updateProgress() {
    var counts = {keep: 0, relabel: 0, drop: 0}, done = 0;
    decisions.forEach(function (x) { if (x) { counts[x.d] += 1; done += 1; } });
    $("progress").textContent = done + " of " + N + " reviewed";
    $("progress-bar").style.width = (N ? 100 * done / N : 0) + "%";
    $("counts").textContent = "keep " + counts.keep + " \u00b7 relabel " + counts.relabel +
      " \u00b7 drop " + counts.drop;
  }

  // ------------------------------------------------------------ filters
  function fillFilter(select, column, noun) {
    var counts = new Map();
    column.forEach(function (c) { counts.set(c, (counts.get(c) || 0) + 1); });
    select.appendChild(new Option("all " + noun + " labels", "all"));
    Array.from(counts.keys()).sort(function (a, b) { return a - b; }).forEach(function (c) {
      select.appendChild(new Option(label(c) + " (" + counts.get(c) + ")", String(c)));
    });
    select.addEventListener("change", function () { applyFilters(); list.focus(); });
  }
  function applyFilters() {
    var given = $("filter-given").value, predicted = $("filter-predicted").value;
    var status = $("filter-status").value;
    var keep = cur >= 0 ? view[cur] : -1;
    view = [];
    for (var i = 0; i < N; i++) {
      if (given !== "all" && R.given[i] !== Number(given)) continue;
      if (predicted !== "all" && R.predicted[i] !== Number(predicted)) continue;
      if (status === "decided" && !decisions[i]) continue;
      if (status === "undecided" && decisions[i]) continue;
      view.push(i);
    }
    rendered.forEach(function (node) { node.remove(); });
    rendered.clear();
    spacer.style.height = view.length * ROW_H + "px";
    $("empty").hidden = view.length > 0;
    $("shown").textContent = view.length + " shown";
    cur = -1;
    var pos = view.indexOf(keep);
    select(pos >= 0 ? pos : 0);
  }

  // ------------------------------------------------------------- export
  function csvField(value) {
    var s = String(value);
    return /[",\r\n]|^\s|\s$/.test(s) ? "\"" + s.replace(/"/g, "\"\"") + "\"" : s;
  }
  function exportCSV() {
    var lines = [[DATA.idName, "given_label", "decision", "new_label"]];
    decisions.forEach(function (x, i) {
      if (!x) return;
      lines.push([R.id[i], label(R.given[i]), x.d, x.d === "relabel" ? label(x.c) : ""]);
    });
    return lines.map(function (fields) { return fields.map(csvField).join(","); })
      .join("\r\n") + "\r\n";
  }
  function download() {
    var text = exportCSV();
    var n = decisions.filter(Boolean).length;
    // The byte order mark lets spreadsheet programs read the file as UTF-8.
    var blob = new Blob(["\ufeff" + text], {type: "text/csv;charset=utf-8"});
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = DATA.exportName;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    $("exported-title").textContent = "Exported " + n + " decision" + (n === 1 ? "" : "s") +
      " to " + DATA.exportName;
    $("export-text").value = text;
    $("exported").hidden = false;
    $("exported-close").focus();
  }
  function closeOverlays() {
    $("help").hidden = true;
    $("exported").hidden = true;
    list.focus();
  }

  // ----------------------------------------------------------- keyboard
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var target = e.target;
    if (target.id === "relabel-input") {
      if (e.key === "Enter") { e.preventDefault(); relabelFromInput(target); }
      if (e.key === "Escape") { e.preventDefault(); target.value = ""; list.focus(); }
      return;
    }
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) {
      if (e.key === "Escape") { target.blur(); list.focus(); }
      return;
    }
    if (!$("help").hidden || !$("exported").hidden) {
      if (e.key === "Escape" || e.key === "?") { e.preventDefault(); closeOverlays(); }
      return;
    }
    var key = e.key.length === 1 ? e.key.toLowerCase() : e.key, handled = true;
    if (key === "k") decide("keep");
    else if (key === "r") { if (cur >= 0) decide("relabel", R.predicted[view[cur]]); }
    else if (key === "d") decide("drop");
    else if (key === "u" || key === "Backspace") undo();
    else if (/^[1-9]$/.test(key) && Number(key) <= CLASSES.length) decide("relabel", Number(key) - 1);
    else if (key === "c") { var input = $("relabel-input"); if (input) input.focus(); }
    else if (key === "ArrowDown" || key === "n" || key === "j") select(cur + 1);
    else if (key === "ArrowUp" || key === "p") select(cur - 1);
    else if (key === "PageDown") select(cur + 10);
    else if (key === "PageUp") select(cur - 10);
    else if (key === "Home") select(0);
    else if (key === "End") select(view.length - 1);
    else if (key === "x") download();
    else if (key === "?") $("help").hidden = false;
    else handled = false;
    if (handled) e.preventDefault();
  }

  // --------------------------------------------------------------- start
  function start() {
    document.documentElement.style.setProperty("--row-height", ROW_H + "px");
    document.body.classList.add("kind-" + KIND);
    $("title").textContent = DATA.title;
    $("summary").textContent = DATA.nFlagged + " of " + DATA.nSamples +
      " training samples flagged (method " + DATA.method + ", cut: score < " +
      fmtScore(DATA.offset) + "); " + N + " listed, most suspicious first";
    var datalist = el("datalist");
    datalist.id = "class-list";
    CLASSES.forEach(function (name) { datalist.appendChild(new Option(name)); });
    document.body.appendChild(datalist);
    fillFilter($("filter-given"), R.given, "given");
    fillFilter($("filter-predicted"), R.predicted, "predicted");
    $("filter-status").addEventListener("change", function () { applyFilters(); list.focus(); });
    $("export").addEventListener("click", download);
    $("help-button").addEventListener("click", function () { $("help").hidden = false; });
    $("exported-close").addEventListener("click", closeOverlays);
    document.addEventListener("keydown", onKey);
    var restored = restore();
    updateProgress();
    applyFilters();
    if (restored) {
      $("summary").textContent += " \u00b7 " + restored + " decision" +
        (restored === 1 ? "" : "s") + " restored from this browser";
    }
    list.focus();
    performance.mark("review-first-row");
    document.documentElement.dataset.ready = "true";
  }
  // The page's own hooks, for tests and for a console: the CSV as exported.
  window.sklearnNoisyReview = {exportCSV: exportCSV, rowCount: N};
  start();
})();
