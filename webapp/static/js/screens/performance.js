/* Track record: the headline figures, results by window, the charts (R per signal, the
 * equity curve in R, R by month) and the statistics, every figure as the server computed
 * it (bot/signals/statistics.py): this screen formats, it never computes one. */

import { call } from "../api.js";
import { barChart, equityChart, monthChart } from "../charts.js";
import { $, append, clear, h, show } from "../dom.js";
import { DASH, fixed, fmtR, fmtRate, num, resultClass, signed } from "../format.js";
import { report } from "../notice.js";
import { t } from "../texts.js";

export async function loadPerformance() {
  const errorBox = $("perf-error");
  show(errorBox, false);
  let data;
  try {
    data = await call("GET", "/performance");
  } catch (error) {
    report(error, errorBox, loadPerformance);
    return;
  }
  renderPerformance(data);
}

function big(value, label, cls) {
  return h(
    "div",
    null,
    h("div", { class: "big " + (cls || ""), text: value }),
    h("div", { class: "big-label", text: label }),
  );
}

function renderPerformance(data) {
  const windows = data.windows || [];
  // The last window is all time; its label is the server's (the bot's window.* texts).
  const all = windows.length ? windows[windows.length - 1] : null;
  const winRate = all
    ? t("app.perf.win_rate_in", { window: all.label.toLowerCase() })
    : t("app.perf.win_rate");
  append(clear($("perf-headline")), [
    big(all ? fmtRate(all.win_rate) : DASH, winRate),
    big(all ? fmtR(all.total_r) : DASH, t("app.perf.total_r"), all ? resultClass(all.total_r) : ""),
    big(String(all ? all.count : 0), t("app.perf.closed")),
  ]);
  const rows = clear($("perf-rows"));
  windows.forEach((w) => {
    append(
      rows,
      h(
        "tr",
        null,
        h("th", { scope: "row", text: w.label }),
        h("td", { text: String(w.count) }),
        h("td", { text: fmtRate(w.win_rate) }),
        h("td", { text: fmtR(w.avg_r) }),
        h("td", { class: resultClass(w.total_r), text: fmtR(w.total_r) }),
      ),
    );
  });
  const signals = data.signals || [];
  const bars = clear($("bars-chart"));
  const equity = clear($("equity-chart"));
  const months = clear($("months-chart"));
  const statistics = data.statistics || null;
  renderStatistics(signals.length ? statistics : null);
  if (!signals.length) {
    append(bars, h("p", { class: "hint", text: t("app.chart.bars.empty") }));
    append(equity, h("p", { class: "hint", text: t("app.chart.equity.empty") }));
    append(months, h("p", { class: "hint", text: t("app.chart.months.empty") }));
    return;
  }
  append(bars, barChart(signals));
  append(equity, equityChart(data.equity || []));
  append(months, monthChart((statistics && statistics.monthly_r) || {}));
}

function plainNumber(value) {
  const n = num(value);
  return n === null ? DASH : fixed(n, 2);
}

/** The statistics card: the overall figures and the simulated portfolio with its method. */
function renderStatistics(statistics) {
  const card = $("perf-stats");
  show(card, Boolean(statistics));
  if (!statistics) return;
  const o = statistics.overall;
  const drawdown = num(o.max_drawdown_r) ? fmtR(-num(o.max_drawdown_r)) : fmtR("0");
  const rows = [
    ["app.stats.win_rate", fmtRate(o.win_rate)],
    ["app.stats.average_r", fmtR(o.average_r)],
    ["app.stats.expectancy", fmtR(o.expectancy_r)],
    ["app.stats.profit_factor", plainNumber(o.profit_factor)],
    ["app.stats.drawdown", drawdown],
    ["app.stats.streak", String(o.longest_losing_streak)],
    ["app.stats.sharpe", plainNumber(o.sharpe)],
    ["app.stats.sortino", plainNumber(o.sortino)],
  ];
  append(
    clear($("perf-figures")),
    rows.map(([key, value]) =>
      h("div", null, h("dt", { text: t(key) }), h("dd", { text: value })),
    ),
  );
  const p = statistics.portfolio;
  $("perf-portfolio").textContent = t("app.stats.portfolio", {
    start: fixed(num(p.start), 0),
    end: fixed(num(p.end), 2),
    change: signed(num(p.return_pct), 2),
  });
  $("perf-method").textContent = t("app.stats.portfolio_method", {
    risk: fixed(num(p.risk) * 100, 0),
  });
  renderHolding(statistics);
}

/** Holding BTC beside the portfolio: absent without PRICE_SOURCE (nothing shown), null
 * while the exchange cannot say (the public page's words). */
function renderHolding(statistics) {
  const line = $("perf-holding");
  const enabled = "holding" in statistics;
  show(line, enabled);
  const held = statistics.holding;
  if (!enabled) {
    line.textContent = "";
  } else if (!held) {
    line.textContent = t("app.stats.holding_unavailable");
  } else {
    line.textContent = t("app.stats.holding", {
      asset: held.pair.split("/")[0],
      start: fixed(num(held.start), 0),
      end: fixed(num(held.end), 2),
      change: signed(num(held.return_pct), 2),
    });
  }
}
