// Charts drawn as SVG from the /api/metrics/timeseries JSON: hand-made (no
// library to download), each with axis titles, units, a legend in text and
// a <title> on every bar and point, so hovering (or a screen reader) gives
// the exact value. Colours come from CSS classes; series also differ by
// shape (dashes, markers) so colour is never the only cue.

import { el, svg, percent } from "./format.js";

const W = 460, H = 250;
const M = { top: 14, right: 12, bottom: 48, left: 56 };

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= value) return m * power;
  return 10 * power;
}

function round(v) { return Math.round(v * 10) / 10; }

/** Four even ticks from 0 to `yMax` (continuous amounts). */
function evenTicks(yMax) { return [0, 1, 2, 3, 4].map((i) => (yMax * i) / 4); }

/** Whole-number ticks for counts: steps of 1, 2, 5, 10, 20, 25, 50 … with at most 5 above 0. */
function countAxis(max) {
  if (!(max > 0)) return { yMax: 1, ticks: [0] };
  let step = 1;
  for (let power = 1; ; power *= 10) {
    const fit = [1, 2, 2.5, 5].map((m) => m * power).find((m) => Number.isInteger(m) && Math.ceil(max / m) <= 5);
    if (fit) { step = fit; break; }
  }
  const yMax = step * Math.ceil(max / step);
  const ticks = [];
  for (let v = 0; v <= yMax; v += step) ticks.push(v);
  return { yMax, ticks };
}

/** The empty frame: grid, y ticks, x labels (dates), axis titles; `empty` (text) says why nothing is drawn. */
function frame(label, buckets, yMax, yTick, yTitle, xTitle, ticks, empty) {
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "chart-svg" },
    svg("title", {}, label));
  const plotW = W - M.left - M.right, plotH = H - M.top - M.bottom;
  const band = plotW / Math.max(1, buckets.length);
  const f = {
    root, band, plotH,
    x: (i) => M.left + i * band,
    y: (v) => M.top + plotH - (Math.min(v, yMax) / yMax) * plotH,
  };
  const axis = svg("g", { class: "axis", "aria-hidden": "true" });
  for (const v of ticks || evenTicks(yMax)) {
    const y = round(f.y(v));
    axis.appendChild(svg("line", { x1: M.left, x2: W - M.right, y1: y, y2: y, class: v ? "grid" : "baseline" }));
    axis.appendChild(svg("text", { x: M.left - 6, y: y + 4, "text-anchor": "end" }, yTick(v)));
  }
  const step = Math.max(1, Math.ceil(buckets.length / 6));
  buckets.forEach((b, i) => {
    if ((buckets.length - 1 - i) % step) return;
    axis.appendChild(svg("text", { x: round(f.x(i) + band / 2), y: H - M.bottom + 16, "text-anchor": "middle" },
      b.date.slice(5)));
  });
  axis.appendChild(svg("text", { x: M.left + plotW / 2, y: H - 8, "text-anchor": "middle", class: "axis-title" }, xTitle));
  axis.appendChild(svg("text", { x: -(M.top + plotH / 2), y: 14, transform: "rotate(-90)", "text-anchor": "middle",
    class: "axis-title" }, yTitle));
  root.appendChild(axis);
  if (empty) {
    root.appendChild(svg("text", { x: M.left + plotW / 2, y: M.top + plotH / 2, "text-anchor": "middle", class: "chart-empty" }, empty));
  }
  return f;
}

function legend(items) {
  return el("ul", { class: "legend" }, items.map(([cls, label]) =>
    el("li", {}, el("span", { class: "swatch " + cls, "aria-hidden": "true" }), label)));
}

function show(container, chart, items, note) {
  container.replaceChildren(...[chart, legend(items), note ? el("p", { class: "note" }, note) : null].filter(Boolean));
}

const OUTCOMES = [
  ["success_count", "success", "success"],
  ["failure_count", "failed", "failed"],
  ["cancelled_count", "cancelled", "cancelled"],
  ["other_count", "other", "other (skipped, running, …)"],
];

/** Builds per day stacked by outcome. */
export function outcomesChart(container, series) {
  const buckets = series.buckets;
  const { yMax, ticks } = countAxis(Math.max(0, ...buckets.map((b) => b.total_builds)));
  const none = buckets.every((b) => !b.total_builds);
  const f = frame("Builds per day by outcome", buckets, yMax, (v) => String(v), "builds",
    "day (" + series.tz + ")", ticks, none ? `No builds in these ${buckets.length} days` : null);
  buckets.forEach((b, i) => {
    const g = svg("g", { class: "bucket", "data-date": b.date, "data-total": b.total_builds });
    let base = 0;
    for (const [key, cls, label] of OUTCOMES) {
      const n = b[key];
      if (!n) continue;
      const y0 = f.y(base), y1 = f.y(base + n);
      g.appendChild(svg("rect", {
        x: round(f.x(i) + f.band * 0.15), width: round(Math.max(1, f.band * 0.7)), y: round(y1),
        height: round(Math.max(1, y0 - y1)), class: "bar s-" + cls, "data-series": cls, "data-value": n,
      }, svg("title", {}, `${b.date}: ${n} ${label} of ${b.total_builds} builds`)));
      base += n;
    }
    f.root.appendChild(g);
  });
  show(container, f.root, OUTCOMES.map(([, cls, label]) => ["s-" + cls, label]));
}

/** Draws lines (null values leave gaps) with a marker and <title> per point. */
function lines(f, buckets, defs) {
  for (const def of defs) {
    let d = "";
    let pen = false;
    const g = svg("g", { class: "series " + def.cls, "data-series": def.key });
    buckets.forEach((b, i) => {
      const v = b[def.key];
      if (v === null || v === undefined) { pen = false; return; }
      const x = round(f.x(i) + f.band / 2), y = round(f.y(def.scale(v)));
      d += (pen ? "L" : "M") + x + " " + y + " ";
      pen = true;
      g.appendChild(svg("circle", { cx: x, cy: y, r: 4, class: "marker", "data-date": b.date, "data-value": v },
        svg("title", {}, `${b.date}: ${def.label} ${def.format(v, b)}`)));
    });
    g.insertBefore(svg("path", { d: d.trim() || "M0 0", class: "line", fill: "none" }), g.firstChild);
    f.root.appendChild(g);
  }
}

/** Success rate per day, in percent. */
export function successRateChart(container, series) {
  const buckets = series.buckets;
  const none = buckets.every((b) => b.success_rate === null || b.success_rate === undefined);
  const f = frame("Success rate per day", buckets, 100, (v) => v + " %", "success rate (%)", "day (" + series.tz + ")",
    null, none ? "No finished (success or failed) builds" : null);
  lines(f, buckets, [{
    key: "success_rate", cls: "s-rate", label: "success rate", scale: (v) => v * 100,
    format: (v, b) => `${percent(v)} (${b.success_count} of ${b.success_count + b.failure_count} finished)`,
  }]);
  show(container, f.root, [["s-rate", "success ÷ (success + failed); no point on days with neither"]]);
}

/** Build (or, with `title`, another) duration p50 and p95 per day, in seconds or minutes. */
export function durationChart(container, series, title = "Build duration per day, p50 and p95") {
  const buckets = series.buckets;
  const top = Math.max(0, ...buckets.map((b) => b.p95_build_time_seconds || 0));
  const minutes = top >= 120;
  const unit = minutes ? 60 : 1;
  const yMax = niceMax(top / unit);
  const none = !(top > 0) && buckets.every((b) => b.p50_build_time_seconds === null || b.p50_build_time_seconds === undefined);
  const f = frame(title, buckets, yMax, (v) => String(round(v)),
    "duration (" + (minutes ? "minutes" : "seconds") + ")", "day (" + series.tz + ")",
    none ? [0] : null, none ? "No finished builds with a duration" : null);
  const fmt = (v) => (minutes ? round(v / 60) + " min" : round(v) + " s");
  lines(f, buckets, [
    { key: "p50_build_time_seconds", cls: "s-p50", label: "p50", scale: (v) => v / unit, format: fmt },
    { key: "p95_build_time_seconds", cls: "s-p95", label: "p95", scale: (v) => v / unit, format: fmt },
  ]);
  show(container, f.root, [["s-p50", "p50 (median)"], ["s-p95", "p95 (dashed)"]]);
}

const SET_CLASSES = ["s-p50", "s-p95", "s-rate"];

/**
 * One line per label set over `days` (the /api/insights/runners `daily`
 * entries of the first set: same dates for every set). `sets` are at most
 * three label-set rows; `key` the daily field drawn; seconds are shown as
 * minutes from 2 minutes up.
 */
export function labelSetChart(container, sets, key, title, yTitle, seconds) {
  const days = sets.length ? sets[0].daily : [];
  const buckets = days.map((d, i) => {
    const b = { date: d.date };
    sets.forEach((s, j) => { b["v" + j] = s.daily[i] ? s.daily[i][key] : null; });
    return b;
  });
  const top = Math.max(0, ...buckets.flatMap((b) => sets.map((_, j) => b["v" + j] || 0)));
  const minutes = seconds && top >= 120;
  const unit = minutes ? 60 : 1;
  const counts = !seconds ? countAxis(top) : null;
  const yMax = counts ? counts.yMax : niceMax(top / unit);
  const none = !(top > 0);
  const f = frame(title, buckets, yMax, (v) => String(round(v)),
    seconds ? yTitle + " (" + (minutes ? "minutes" : "seconds") + ")" : yTitle, "day (UTC)",
    counts ? counts.ticks : (none ? [0] : null), none ? "Nothing in these days" : null);
  const fmt = (v) => (!seconds ? String(v) : minutes ? round(v / 60) + " min" : round(v) + " s");
  const name = (s) => (s.labels.length ? s.labels.join(", ") : "no labels");
  lines(f, buckets, sets.map((s, j) => ({
    key: "v" + j, cls: SET_CLASSES[j], label: name(s), scale: (v) => v / unit, format: fmt,
  })));
  show(container, f.root, sets.map((s, j) => [SET_CLASSES[j], name(s)]));
}
