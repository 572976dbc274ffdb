/* Track record: the headline figures, results by window, and the two charts. */

import { call } from "../api.js";
import { barChart, equityChart } from "../charts.js";
import { $, append, clear, h, show } from "../dom.js";
import { DASH, fmtR, fmtRate, resultClass } from "../format.js";
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
  if (!signals.length) {
    append(bars, h("p", { class: "hint", text: t("app.chart.bars.empty") }));
    append(equity, h("p", { class: "hint", text: t("app.chart.equity.empty") }));
    return;
  }
  append(bars, barChart(signals));
  append(equity, equityChart(data.equity || []));
}
