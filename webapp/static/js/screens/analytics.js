/* Admin: the analytics (GET /admin/analytics, docs/analytics.md): MRR by rail and
 * currency, subscribers in and out per day, week or month, trial, dunning and referral
 * conversions, revenue by plan and by month, and retention by month of first payment. */

import { movementChart, revenueChart } from "../analytics_charts.js";
import { call } from "../api.js";
import { $, append, clear, h, show } from "../dom.js";
import { DASH, fixed, fmtPeriod, fmtShare } from "../format.js";
import { report } from "../notice.js";
import { t } from "../texts.js";

const RAILS = { stripe: "app.analytics.rail.stripe", stars: "app.analytics.rail.stars" };
const UNITS = [
  ["day", "app.analytics.days"],
  ["week", "app.analytics.weeks"],
  ["month", "app.analytics.months"],
];
const view = { unit: "month", data: null };

function railLabel(rail) {
  return Object.prototype.hasOwnProperty.call(RAILS, rail) ? t(RAILS[rail]) : rail;
}

function table(id, caption, headers, rows) {
  const head = h("tr", null, headers.map((text) => h("th", { scope: "col", text: text })));
  const body = rows.map((cells) =>
    h(
      "tr",
      null,
      cells.map((cell, i) =>
        i === 0 ? h("th", { scope: "row", text: String(cell) }) : cellOf(cell),
      ),
    ),
  );
  return h(
    "div",
    { class: "card table-wrap" },
    h(
      "table",
      { class: "windows", id: id },
      h("caption", { text: caption }),
      h("thead", null, head),
      h("tbody", null, body),
    ),
  );
}

function cellOf(cell) {
  return cell instanceof Node ? cell : h("td", { text: String(cell) });
}

function tile(id, value, label) {
  return h(
    "div",
    { class: "stat", id: id },
    h("div", { class: "big", text: value }),
    h("div", { class: "big-label", text: label }),
  );
}

function rateTile(id, label, figures, part, whole) {
  const detail = t("app.analytics.rate", {
    percent: fmtShare(figures.rate),
    part: String(figures[part]),
    whole: String(whole),
  });
  return tile(id, fmtShare(figures.rate), label + " \u00b7 " + detail);
}

function mrrSection(data) {
  const rows = data.mrr.map((m) => [railLabel(m.rail), m.label, m.subscriptions]);
  const out = [
    h(
      "div",
      { class: "stat-grid" },
      tile("analytics-paying", String(data.paying), t("app.analytics.paying")),
    ),
  ];
  if (rows.length) {
    const headers = [t("app.analytics.rail"), "MRR", t("app.analytics.subscriptions")];
    out.push(table("analytics-mrr", t("app.analytics.mrr"), headers, rows));
  }
  if (data.unpriced) {
    out.push(h("p", { class: "hint", text: t("app.analytics.unpriced", { count: String(data.unpriced) }) }));
  }
  return out;
}

function movementSection(data) {
  const buckets = data.movement[view.unit];
  const buttons = UNITS.map(([unit, label]) =>
    h("button", {
      type: "button",
      class: "tab",
      id: "analytics-unit-" + unit,
      "aria-pressed": unit === view.unit ? "true" : "false",
      text: t(label),
      onclick: () => {
        view.unit = unit;
        render();
      },
    }),
  );
  const active = buckets.filter((b) => b.new || b.churned);
  const rows = active.map((b) => [fmtPeriod(b.start), b.new, b.voluntary, b.involuntary, b.net]);
  const headers = [
    t("app.analytics.new"),
    t("app.analytics.voluntary"),
    t("app.analytics.involuntary"),
    t("app.analytics.net"),
  ];
  return [
    h("h3", { text: t("app.analytics.movement") }),
    h("div", { class: "tabs", role: "group" }, buttons),
    h("figure", { class: "chart" }, movementChart(buckets, fmtPeriod)),
    table("analytics-movement", t("app.analytics.movement"), [t("app.analytics.period"), ...headers], rows),
  ];
}

function ratesSection(data) {
  const trials = data.trials;
  const dunning = data.dunning;
  const referrals = data.referrals;
  return [
    h("h3", { text: t("app.analytics.rates") }),
    h(
      "div",
      { class: "stat-grid" },
      rateTile("analytics-trials", t("app.analytics.trials"), trials, "converted", trials.converted + trials.lost),
      rateTile("analytics-dunning", t("app.analytics.dunning"), dunning, "recovered", dunning.recovered + dunning.lost),
      rateTile("analytics-referrals", t("app.analytics.referrals"), referrals, "converted", referrals.referred),
    ),
  ];
}

function revenueSection(data) {
  if (!data.revenue.length) return [h("p", { class: "hint", id: "analytics-none", text: t("app.analytics.none") })];
  const rows = data.revenue.map((r) => [
    r.rail === "stars" ? railLabel("stars") : r.name || DASH,
    r.payments,
    r.gross_label,
    r.refunded_label,
    r.net_label,
  ]);
  const headers = [
    t("app.analytics.plan"),
    t("app.analytics.payments"),
    t("app.analytics.gross"),
    t("app.analytics.refunded"),
    t("app.analytics.net"),
  ];
  const out = [table("analytics-revenue", t("app.analytics.revenue"), headers, rows)];
  const currencies = [...new Set(data.monthly_revenue.map((m) => m.currency))];
  currencies.forEach((currency) => {
    const months = data.monthly_revenue.filter((m) => m.currency === currency);
    const caption = t("app.analytics.monthly") + " \u00b7 " + currency.toUpperCase();
    const chart = revenueChart(months, currency, fmtPeriod);
    out.push(h("figure", { class: "chart" }, h("figcaption", { text: caption }), chart));
  });
  return out;
}

function heat(share) {
  return "heat heat-" + Math.min(4, Math.floor(share * 5));
}

function cohortSection(data) {
  if (!data.cohorts.length) return [];
  const width = Math.max(...data.cohorts.map((c) => c.retained.length));
  const offsets = [...Array(width).keys()].map((n) => t("app.analytics.month_n", { n: String(n) }));
  const rows = data.cohorts.map((c) => [
    fmtPeriod(c.month),
    c.size,
    ...c.retained.map((kept) => {
      const share = c.size ? kept / c.size : 0;
      return h("td", { class: heat(share), title: String(kept), text: fixed(share * 100, 0) + "%" });
    }),
  ]);
  const headers = [t("app.analytics.cohort"), t("app.analytics.size"), ...offsets];
  return [table("analytics-cohorts", t("app.analytics.cohorts"), headers, rows)];
}

function render() {
  const data = view.data;
  const body = clear($("analytics-body"));
  append(body, [
    ...mrrSection(data),
    ...movementSection(data),
    ...ratesSection(data),
    ...revenueSection(data),
    ...cohortSection(data),
  ]);
}

export async function loadAnalytics() {
  const errorBox = $("analytics-error");
  show(errorBox, false);
  try {
    view.data = await call("GET", "/admin/analytics");
  } catch (error) {
    report(error, errorBox, loadAnalytics);
    return;
  }
  render();
}
