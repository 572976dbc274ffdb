/* The track record's SVG charts, built with the DOM in the SVG namespace: R per closed
 * signal as bars, and the equity curve. Each is an img with a title and a description. */

import { append, svg } from "./dom.js";
import { fmtR, num, signed } from "./format.js";
import { sideLabel, t, tn } from "./texts.js";

const W = 320;
const H = 170;

/** Round-number ticks covering [lo, hi]. */
export function ticks(lo, hi, count) {
  const span = hi - lo || 1;
  const raw = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).filter((s) => s >= raw)[0];
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

export function chartFrame(id, title, description) {
  return svg(
    "svg",
    {
      id: id,
      viewBox: "0 0 " + W + " " + H,
      role: "img",
      "aria-labelledby": id + "-title " + id + "-desc",
      "aria-label": title + ". " + description,
      preserveAspectRatio: "xMidYMid meet",
    },
    svg("title", { id: id + "-title", text: title }),
    svg("desc", { id: id + "-desc", text: description }),
  );
}

export function scaleY(lo, hi, top, bottom) {
  if (hi === lo) hi = lo + 1;
  return (v) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
}

const inR = (v) => signed(v, v % 1 ? 1 : 0) + "R";

/** Grid lines at `values` from `left` to `right`, each labelled (in R unless `format`
 * says otherwise); the zero line drawn as the axis. The analytics' charts use it too. */
export function yAxis(root, values, y, left, right, format = inR) {
  values.forEach((v) => {
    const py = y(v).toFixed(1);
    append(root, [
      svg("line", { class: v === 0 ? "axis" : "grid", x1: left, x2: right, y1: py, y2: py }),
      svg("text", {
        class: "label",
        x: left - 4,
        y: py,
        "text-anchor": "end",
        "dominant-baseline": "middle",
        text: format(v),
      }),
    ]);
  });
}

/** One bar per closed signal (`performance.signals`), oldest first. */
export function barChart(signals) {
  const values = signals.map((s) => num(s.result_r) || 0);
  const wins = values.filter((v) => v > 0).length;
  const description = tn("app.chart.bars.desc", values.length, {
    won: wins,
    lost: values.length - wins,
    best: fmtR(Math.max(...values)),
    worst: fmtR(Math.min(...values)),
  });
  const root = chartFrame("bars-svg", t("app.chart.bars.title"), description);
  const bars = barLayout(root, values);
  signals.forEach((signal, i) => {
    const title = t("app.chart.bars.bar", {
      id: signal.id,
      symbol: signal.symbol,
      side: sideLabel(signal.side),
      result: fmtR(signal.result_r),
    });
    const x = bars.bar(i, { "data-signal-id": signal.id }, title);
    if (values.length <= 12) bars.label(x, t("app.signal.number", { id: signal.id }));
  });
  append(root, bars.group);
  return root;
}

/** The y axis, from 0 and the values' extremes to round ticks, and one band a value: what
 * both bar charts share. `bar` draws value i's bar (green up, red down) and returns its x;
 * `label` writes a word under a bar. */
function barLayout(root, values) {
  const left = 34;
  const right = W - 6;
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  const grid = ticks(lo, hi, 4);
  lo = Math.min(lo, grid[0]);
  hi = Math.max(hi, grid[grid.length - 1]);
  const y = scaleY(lo, hi, 8, H - 22);
  yAxis(root, grid, y, left, right);
  const band = (right - left) / values.length;
  const barWidth = Math.max(1, Math.min(28, band * 0.7));
  const group = svg("g", { class: "bars" });
  const bar = (i, data, title) => {
    const v = values[i];
    const x = left + band * i + (band - barWidth) / 2;
    const y0 = y(0);
    const y1 = y(v);
    const attributes = {
      class: v >= 0 ? "bar-pos" : "bar-neg",
      x: x.toFixed(1),
      y: Math.min(y0, y1).toFixed(1),
      width: barWidth.toFixed(1),
      height: Math.max(1, Math.abs(y1 - y0)).toFixed(1),
      rx: Math.min(3, barWidth / 4).toFixed(1),
      ...data,
    };
    append(group, svg("rect", attributes, svg("title", { text: title })));
    return x;
  };
  const label = (x, text) =>
    append(
      group,
      svg("text", {
        class: "label",
        x: (x + barWidth / 2).toFixed(1),
        y: H - 6,
        "text-anchor": "middle",
        text,
      }),
    );
  return { group, bar, label };
}

/** The cumulative R after each closed signal (`performance.equity`), from 0. */
export function equityChart(points) {
  const left = 34;
  const right = W - 10;
  const top = 10;
  const bottom = H - 22;
  const values = [0].concat(points.map((p) => num(p.cumulative_r) || 0));
  const last = values[values.length - 1];
  const hiV = Math.max(...values);
  const loV = Math.min(...values);
  const description = tn("app.chart.equity.desc", points.length, {
    last: fmtR(last),
    high: fmtR(hiV),
    low: fmtR(loV),
  });
  const root = chartFrame("equity-svg", t("app.chart.equity.title"), description);
  const grid = ticks(loV, hiV, 4);
  const lo = Math.min(loV, grid[0]);
  const hi = Math.max(hiV, grid[grid.length - 1]);
  const y = scaleY(lo, hi, top, bottom);
  yAxis(root, grid, y, left, right);
  const step = (right - left) / Math.max(1, values.length - 1);
  const coords = values.map((v, i) => [left + step * i, y(v)]);
  const line = coords
    .map((c, i) => (i ? "L" : "M") + c[0].toFixed(1) + " " + c[1].toFixed(1))
    .join(" ");
  const zero = y(0).toFixed(1);
  const end = coords[coords.length - 1][0].toFixed(1);
  const area = line + " L" + end + " " + zero + " L" + left + " " + zero + " Z";
  append(root, [svg("path", { class: "area", d: area }), svg("path", { class: "line", d: line })]);
  if (values.length <= 40) {
    coords.slice(1).forEach((c, i) => {
      const p = points[i];
      const title = t("app.chart.equity.dot", { id: p.id, result: fmtR(p.cumulative_r) });
      append(
        root,
        svg(
          "circle",
          { class: "dot", cx: c[0].toFixed(1), cy: c[1].toFixed(1), r: 2.5 },
          svg("title", { text: title }),
        ),
      );
    });
  }
  append(root, [
    svg("text", {
      class: "label",
      x: left,
      y: H - 6,
      "text-anchor": "start",
      text: t("app.chart.equity.start"),
    }),
    svg("text", {
      class: "label",
      x: right,
      y: H - 6,
      "text-anchor": "end",
      text: t("app.chart.equity.now", { result: fmtR(last) }),
    }),
  ]);
  return root;
}

/** R by calendar month (`performance.statistics.monthly_r`: {"2026-03": "1.5", ...}, every
 * month from the first to the last, as the server computed them), one bar each. */
export function monthChart(monthly) {
  const months = Object.keys(monthly).sort();
  const values = months.map((m) => num(monthly[m]) || 0);
  const description = t("app.chart.months.desc", {
    first: months[0],
    last: months[months.length - 1],
    best: fmtR(Math.max(...values)),
    worst: fmtR(Math.min(...values)),
  });
  const root = chartFrame("months-svg", t("app.chart.months.title"), description);
  const bars = barLayout(root, values);
  const labelEvery = Math.max(1, Math.ceil(values.length / 6));
  months.forEach((month, i) => {
    const title = t("app.chart.months.bar", { month: month, result: fmtR(values[i]) });
    const x = bars.bar(i, { "data-month": month }, title);
    if (i % labelEvery === 0) bars.label(x, month);
  });
  append(root, bars.group);
  return root;
}
