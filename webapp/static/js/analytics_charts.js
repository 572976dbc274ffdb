/* The analytics' SVG charts, drawn with the DOM (no library): subscribers in and out per
 * period (new up; churned down, cancelled and payment failed stacked; net as a line), and
 * net revenue per month in one currency (currencies never share an axis). */

import { chartFrame, scaleY, ticks, yAxis } from "./charts.js";
import { append, svg } from "./dom.js";
import { fixed } from "./format.js";
import { t } from "./texts.js";

const W = 320;
const H = 170;
const LEFT = 30;
const RIGHT = W - 6;
const TOP = 8;
const BOTTOM = H - 22;

function bar(cls, x, width, y0, y1, title) {
  return svg(
    "rect",
    {
      class: cls,
      x: x.toFixed(1),
      y: Math.min(y0, y1).toFixed(1),
      width: width.toFixed(1),
      height: Math.abs(y1 - y0).toFixed(1),
    },
    svg("title", { text: title }),
  );
}

function edgeLabels(root, first, last) {
  append(root, [
    svg("text", { class: "label", x: LEFT, y: H - 6, "text-anchor": "start", text: first }),
    svg("text", { class: "label", x: RIGHT, y: H - 6, "text-anchor": "end", text: last }),
  ]);
}

function sum(rows, key) {
  return rows.reduce((total, row) => total + row[key], 0);
}

/** `buckets`: the API's movement rows of one unit, oldest first; `label(start)` names one. */
export function movementChart(buckets, label) {
  const description = [
    t("app.analytics.new") + " " + sum(buckets, "new"),
    t("app.analytics.voluntary") + " " + sum(buckets, "voluntary"),
    t("app.analytics.involuntary") + " " + sum(buckets, "involuntary"),
    t("app.analytics.net") + " " + sum(buckets, "net"),
  ].join(" \u00b7 ");
  const root = chartFrame("movement-svg", t("app.analytics.chart"), description);
  const hi = Math.max(1, ...buckets.map((b) => b.new));
  const lo = -Math.max(1, ...buckets.map((b) => b.churned));
  const grid = ticks(lo, hi, 4).filter((v) => Number.isInteger(v));
  const y = scaleY(Math.min(lo, grid[0]), Math.max(hi, grid[grid.length - 1]), TOP, BOTTOM);
  yAxis(root, grid, y, LEFT, RIGHT, (v) => fixed(v, 0));
  const band = (RIGHT - LEFT) / buckets.length;
  const width = Math.max(1, band * 0.7);
  const bars = svg("g", { class: "bars" });
  const points = [];
  buckets.forEach((b, i) => {
    const x = LEFT + band * i + (band - width) / 2;
    const when = label(b.start);
    if (b.new) append(bars, bar("bar-pos", x, width, y(0), y(b.new), when + ": +" + b.new));
    if (b.voluntary) {
      const title = when + ": " + t("app.analytics.voluntary") + " " + b.voluntary;
      append(bars, bar("bar-vol", x, width, y(0), y(-b.voluntary), title));
    }
    if (b.involuntary) {
      const title = when + ": " + t("app.analytics.involuntary") + " " + b.involuntary;
      append(bars, bar("bar-neg", x, width, y(-b.voluntary), y(-b.churned), title));
    }
    points.push((x + width / 2).toFixed(1) + "," + y(b.net).toFixed(1));
  });
  append(root, bars);
  append(root, svg("polyline", { class: "line", points: points.join(" ") }));
  if (buckets.length) edgeLabels(root, label(buckets[0].start), label(buckets[buckets.length - 1].start));
  return root;
}

/** `months`: the API's monthly_revenue rows of one currency, oldest first. */
export function revenueChart(months, currency, label) {
  const id = "revenue-svg-" + currency;
  const title = t("app.analytics.monthly") + " \u00b7 " + currency.toUpperCase();
  const description = months.map((m) => label(m.month) + ": " + m.label).join(", ");
  const root = chartFrame(id, title, description);
  const hi = Math.max(1, ...months.map((m) => m.net));
  const grid = ticks(0, hi, 3);
  const y = scaleY(0, Math.max(hi, grid[grid.length - 1]), TOP, BOTTOM);
  const scale = currency === "xtr" ? 1 : 100;
  yAxis(root, grid, y, LEFT, RIGHT, (v) => fixed(v / scale, 0));
  const band = (RIGHT - LEFT) / months.length;
  const width = Math.max(1, Math.min(28, band * 0.7));
  const bars = svg("g", { class: "bars" });
  months.forEach((m, i) => {
    const x = LEFT + band * i + (band - width) / 2;
    append(bars, bar("bar-pos", x, width, y(0), y(Math.max(0, m.net)), label(m.month) + ": " + m.label));
  });
  append(root, bars);
  edgeLabels(root, label(months[0].month), label(months[months.length - 1].month));
  return root;
}
