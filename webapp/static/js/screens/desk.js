/* Admin: the recent signals' cards. Each shows the signal, its delivery report (sent,
 * failed, blocked, and the time from Send to the last subscriber, followed live while it
 * is still going out) and its updates as buttons: TP n hit, stop hit, close at a price,
 * cancel, only those the signal can still take (the server says which). Each asks first
 * (confirm.js), then goes through the same service as /update in the chat. */

import { ApiError, call, describe } from "../api.js";
import { ask } from "../confirm.js";
import { $, append, clear, h, show } from "../dom.js";
import { DASH, entryText, fixed, fmtDateTime, fmtResult, num, resultClass } from "../format.js";
import { report } from "../notice.js";
import { state } from "../state.js";
import { t, tn } from "../texts.js";
import { sideBadge, signalStatus, statusTone } from "./signals.js";

const WATCH_MS = 1000;
const TP = /^tp([0-9]+)$/;

export async function loadDesk() {
  const errorBox = $("desk-error");
  show(errorBox, false);
  let data;
  try {
    data = await call("GET", "/admin/signals");
  } catch (error) {
    report(error, errorBox, loadDesk);
    return;
  }
  const list = clear($("desk"));
  const signals = data.signals || [];
  show($("desk-empty"), signals.length === 0);
  signals.forEach((signal) => append(list, card(signal)));
  signals.filter((s) => !s.delivery.done).forEach((s) => watch(s.id));
}

/** A signal just posted: its card first in the list, followed until it is out. */
export function addCard(signal) {
  const old = cardOf(signal.id);
  if (old) old.remove();
  $("desk").prepend(card(signal));
  show($("desk-empty"), false);
  if (!signal.delivery.done) watch(signal.id);
}

function cardOf(id) {
  return $("desk").querySelector('[data-signal-id="' + String(id) + '"]');
}

function replace(signal, said) {
  const old = cardOf(signal.id);
  if (!old) return;
  const fresh = card(signal);
  old.replaceWith(fresh);
  if (said) fresh.querySelector(".card-status").textContent = said;
}

/* ---------- a card ---------- */

function card(signal) {
  const item = h("li", { class: "card desk-card", "data-signal-id": signal.id });
  const title = h(
    "h3",
    { class: "desk-title" },
    sideBadge(signal),
    " " + signal.symbol + " ",
    h("span", { class: "hint", text: t("app.signal.number", { id: signal.id }) }),
  );
  const levels = {
    entry: entryText(signal),
    stop_loss: signal.stop_loss,
    take_profits: (signal.take_profits || []).join(" / "),
  };
  append(item, [
    h(
      "div",
      { class: "state-line" },
      title,
      h("span", { class: "badge " + statusTone(signal), text: signalStatus(signal) }),
    ),
    h("p", { class: "signal-levels", text: t("app.signal.levels", levels) }),
    h(
      "p",
      { class: "signal-foot" },
      h("span", { class: "hint", text: fmtDateTime(signal.published_at) }),
      num(signal.result_r) !== null
        ? h("span", { class: resultClass(signal.result_r), text: fmtResult(signal) })
        : null,
    ),
    deliveryReport(signal),
    updateButtons(signal),
    h("div", { class: "confirm-slot" }),
    h("p", { class: "hint card-status", role: "status" }),
    h("p", { class: "inline-error card-error", role: "alert", hidden: true }),
  ]);
  return item;
}

function deliveryReport(signal) {
  const d = signal.delivery || {};
  const cells = [
    ["sent", t("app.desk.sent"), String(d.sent || 0)],
    ["failed", t("app.desk.failed"), String(d.failed || 0)],
    ["blocked", t("app.desk.blocked"), String(d.blocked || 0)],
  ];
  if (d.pending) cells.push(["pending", t("app.desk.pending"), String(d.pending)]);
  let time = DASH;
  if (d.seconds !== null && d.seconds !== undefined) {
    time = t("app.desk.seconds", { seconds: fixed(d.seconds, 1) });
  }
  if (!d.done) time = t("app.desk.sending");
  cells.push(["time", t("app.desk.time"), time]);
  const grid = h("dl", { class: "delivery-grid" });
  cells.forEach(([name, label, value]) => {
    const cell = h("div", { class: "delivery-" + name });
    append(cell, [h("dt", { text: label }), h("dd", { text: value })]);
    append(grid, cell);
  });
  const done = d.done ? "true" : "false";
  return h(
    "section",
    { class: "delivery", "aria-label": t("app.desk.report"), "data-done": done },
    grid,
    h("p", { class: "hint", text: t("app.desk.time_hint") }),
  );
}

/* ---------- the update buttons ---------- */

function buttonLabel(kind) {
  const tp = TP.exec(kind);
  if (tp) return t("app.desk.tp_hit", { n: tp[1] });
  if (kind === "sl") return t("app.desk.sl_hit");
  if (kind === "close") return t("app.desk.close");
  return t("app.desk.cancel");
}

function updateButtons(signal) {
  const updates = signal.updates || [];
  const group = h("div", {
    class: "update-buttons",
    role: "group",
    "aria-label": t("app.desk.updates_label", { id: signal.id }),
  });
  show(group, updates.length > 0);
  updates.forEach((kind) => {
    const button = h("button", {
      type: "button",
      class: "btn btn-small " + (kind === "cancel" ? "btn-plain" : "btn-secondary"),
      "data-update": kind,
      text: buttonLabel(kind),
    });
    button.addEventListener("click", () => confirmUpdate(signal, kind, button));
    append(group, button);
  });
  return group;
}

function question(signal, kind) {
  const tp = TP.exec(kind);
  if (tp) {
    const price = (signal.take_profits || [])[Number(tp[1]) - 1];
    return {
      question: t("app.desk.confirm_tp", { n: tp[1], id: signal.id, price: price }),
      action: t("app.desk.do_tp", { n: tp[1] }),
    };
  }
  if (kind === "sl") {
    return {
      question: t("app.desk.confirm_sl", { id: signal.id, price: signal.stop_loss }),
      action: t("app.desk.do_sl"),
    };
  }
  if (kind === "close") {
    return {
      question: t("app.desk.confirm_close", { id: signal.id }),
      action: t("app.desk.do_close"),
      price: { label: t("app.desk.exit_price") },
    };
  }
  return {
    question: t("app.desk.confirm_cancel", { id: signal.id }),
    action: t("app.desk.do_cancel"),
  };
}

function confirmUpdate(signal, kind, button) {
  const item = button.closest(".desk-card");
  show(item.querySelector(".card-error"), false);
  item.querySelector(".card-status").textContent = "";
  const asked = question(signal, kind);
  ask(item.querySelector(".confirm-slot"), {
    ...asked,
    run: (values) => postUpdate(signal, kind, values.price),
  });
}

async function postUpdate(signal, kind, price) {
  const body = { kind: kind };
  if (price) body.price = price;
  let data;
  try {
    data = await call("POST", "/admin/signals/" + encodeURIComponent(signal.id) + "/updates", body);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      report(error);
      return null;
    }
    const field = error instanceof ApiError ? error.detail.field : null;
    return { message: describe(error), field: field };
  }
  replace(data.signal, tn("app.desk.recorded", data.total || 0));
  return null;
}

/* ---------- following deliveries ---------- */

function watch(id) {
  state.deskWatch.add(id);
  if (!state.deskTimer) state.deskTimer = setTimeout(poll, WATCH_MS);
}

async function poll() {
  state.deskTimer = null;
  if (state.tab !== "compose" || state.expired) {
    state.deskWatch.clear();
    return;
  }
  for (const id of Array.from(state.deskWatch)) {
    let signal;
    try {
      signal = await call("GET", "/admin/signals/" + encodeURIComponent(id));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        report(error);
        return;
      }
      continue; // a passing failure: asked again in a second
    }
    if (signal.delivery.done) state.deskWatch.delete(id);
    const item = cardOf(id);
    // A question standing in the card stays; the report alone is brought up to date.
    if (item && item.querySelector(".confirm-slot").firstChild) {
      item.querySelector(".delivery").replaceWith(deliveryReport(signal));
    } else {
      replace(signal);
    }
  }
  if (state.deskWatch.size && !state.deskTimer) state.deskTimer = setTimeout(poll, WATCH_MS);
}
