/* Signals: the feed (or the lock for non-subscribers) and a signal's detail. */

import { ApiError, call } from "../api.js";
import { $, append, clear, h, show } from "../dom.js";
import { entryText, fmtDateTime, fmtR, fmtResult, humanize, num, resultClass } from "../format.js";
import { report } from "../notice.js";
import { state } from "../state.js";
import { updateBackButton } from "../telegram.js";
import { sideLabel, t } from "../texts.js";

export async function loadSignals() {
  const errorBox = $("signals-error");
  show(errorBox, false);
  let data;
  try {
    data = await call("GET", "/signals");
  } catch (error) {
    clear($("feed"));
    show($("signals-empty"), false);
    if (error instanceof ApiError && error.status === 403 && error.code === "no_access") {
      show($("signals-locked"), true);
    } else {
      show($("signals-locked"), false);
      report(error, errorBox, loadSignals);
    }
    return;
  }
  show($("signals-locked"), false);
  renderFeed(data.signals || []);
}

/** The server's words for the status (the bot's signal.status.* texts). */
export function signalStatus(signal) {
  return humanize(signal.status_label || signal.status || "");
}

export function statusTone(signal) {
  if (signal.status === "stopped") return "badge-bad";
  if (signal.status === "cancelled") return "";
  if (signal.closed_at) return num(signal.result_r) > 0 ? "badge-good" : "badge-bad";
  return "badge-good";
}

function hasResult(signal) {
  return num(signal.result_r) !== null || num(signal.result_pct) !== null;
}

export function sideBadge(signal) {
  return h("span", { class: "side side-" + signal.side, text: sideLabel(signal.side) });
}

function feedButton(signal) {
  const about = {
    side: sideLabel(signal.side),
    symbol: signal.symbol,
    id: signal.id,
    status: signalStatus(signal),
    result: fmtR(signal.result_r),
  };
  const levels = {
    entry: entryText(signal),
    stop_loss: signal.stop_loss,
    take_profits: (signal.take_profits || []).join(" / "),
  };
  return h(
    "button",
    {
      type: "button",
      class: "signal-button",
      "data-signal-id": signal.id,
      "aria-label": t(hasResult(signal) ? "app.signal.aria_result" : "app.signal.aria", about),
    },
    h(
      "span",
      { class: "signal-head" },
      h(
        "span",
        { class: "signal-title" },
        sideBadge(signal),
        " " + signal.symbol + " ",
        h("span", { class: "hint", text: t("app.signal.number", { id: signal.id }) }),
      ),
      h("span", { class: "badge " + statusTone(signal), text: signalStatus(signal) }),
    ),
    h("span", { class: "signal-levels", text: t("app.signal.levels", levels) }),
    h(
      "span",
      { class: "signal-foot" },
      h("span", { class: "hint", text: fmtDateTime(signal.published_at) }),
      hasResult(signal)
        ? h("span", { class: resultClass(signal.result_r), text: fmtResult(signal) })
        : null,
    ),
  );
}

function renderFeed(signals) {
  const feed = clear($("feed"));
  show($("signals-empty"), signals.length === 0);
  signals.forEach((signal) => {
    const button = feedButton(signal);
    button.addEventListener("click", () => openDetail(signal, button));
    append(feed, h("li", { class: "signal" }, button));
  });
}

/** A signal's levels and outcome as a definition list (the detail, and a preview). */
export function signalFacts(signal) {
  const facts = h("dl", { class: "facts" });
  const fact = (id, value) => {
    if (value === null || value === undefined || value === "") return;
    append(facts, [h("dt", { text: t(id) }), h("dd", null, value)]);
  };
  fact("app.signal.entry", entryText(signal));
  fact("app.signal.stop_loss", signal.stop_loss);
  const tps = h("span");
  (signal.take_profits || []).forEach((tp, i) => {
    const hit = signal.tp_hit && i < signal.tp_hit;
    const text = t(hit ? "app.signal.tp_hit" : "app.signal.tp", { n: i + 1, price: tp });
    append(tps, [i ? ", " : "", text]);
  });
  fact("app.signal.take_profits", tps);
  if (signal.leverage) fact("app.signal.leverage", signal.leverage + "\u00d7");
  if (signal.timeframe) fact("app.signal.timeframe", signal.timeframe);
  if (signal.published_at) fact("app.signal.published", fmtDateTime(signal.published_at));
  if (signal.closed_at) fact("app.signal.closed", fmtDateTime(signal.closed_at));
  if (signal.exit_price) fact("app.signal.exit_price", signal.exit_price);
  if (signal.note) fact("app.signal.note", h("span", { class: "note", text: signal.note }));
  if (hasResult(signal)) {
    fact(
      "app.signal.result",
      h("span", { class: resultClass(signal.result_r), text: fmtResult(signal) }),
    );
  }
  return facts;
}

/** The title line of a preview: side and symbol. */
export function signalTitle(signal) {
  return h("p", { class: "signal-title" }, sideBadge(signal), " " + signal.symbol);
}

function openDetail(signal, opener) {
  state.detail = signal;
  state.detailOpener = opener || null;
  const box = clear($("detail"));
  append(box, [
    h(
      "div",
      { class: "state-line" },
      h(
        "h2",
        { id: "detail-title" },
        sideBadge(signal),
        " " + signal.symbol + " " + t("app.signal.number", { id: signal.id }),
      ),
      h("span", { class: "badge " + statusTone(signal), text: signalStatus(signal) }),
    ),
    signalFacts(signal),
  ]);
  show($("panel-signals"), false);
  show($("panel-detail"), true);
  $("panel-detail").focus();
  updateBackButton();
}

export function closeDetail() {
  const opener = state.detailOpener;
  state.detail = null;
  state.detailOpener = null;
  show($("panel-detail"), false);
  show($("panel-signals"), state.tab === "signals");
  updateBackButton();
  if (opener && document.body.contains(opener)) opener.focus();
}
