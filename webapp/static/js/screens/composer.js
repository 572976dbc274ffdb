/* Admin: the composer. A signal field by field: symbol, side, entry (or a zone), stop,
 * take-profits (rows added and removed, each with its risk/reward worked out as it is
 * typed), leverage, timeframe, note. A moment after each change the server checks it by
 * the rules of /signal and answers with the message subscribers will get (in SIGNAL_STYLE),
 * or names the field that is wrong, shown at that field. Post asks first, then publishes;
 * the new signal's card appears in the list below (desk.js). */

import { ApiError, call, describe } from "../api.js";
import { ask } from "../confirm.js";
import { $, append, clear, h, show } from "../dom.js";
import { fixed, num } from "../format.js";
import { report } from "../notice.js";
import { rewardToRisk } from "../risk.js";
import { sideLabel, t, tn } from "../texts.js";
import { addCard } from "./desk.js";

// bot/signals/syntax.py MAX_TAKE_PROFITS: the most take-profits a signal may have.
export const MAX_TAKE_PROFITS = 10;
const CHECK_AFTER_MS = 350;

// The single fields, by the name the API gives them: [input, error line].
const FIELDS = {
  symbol: ["composer-symbol", "composer-symbol-error"],
  side: ["composer-long", "composer-side-error"],
  entry: ["composer-entry", "composer-entry-error"],
  stop_loss: ["composer-stop", "composer-stop-error"],
  take_profits: [null, "composer-tps-error"],
  leverage: ["composer-leverage", "composer-leverage-error"],
  timeframe: ["composer-timeframe", "composer-timeframe-error"],
  note: ["composer-note", "composer-note-error"],
};

const composer = {
  rows: [], // {input, rr, remove, error}
  sentRows: [], // the rows the last request sent, in its order (an error's index)
  checked: null, // the JSON of the fields the shown message is for
  recipients: 0,
  ticket: 0, // answers to older requests are ignored
  timer: null,
};

/* ---------- the fields ---------- */

function value(id) {
  return $(id).value.trim();
}

function side() {
  return $("composer-short").checked ? "short" : "long";
}

function entries() {
  const low = value("composer-entry");
  return $("composer-zone").checked ? [low, value("composer-entry-high")] : [low];
}

/** The fields as the API takes them (empty take-profit rows left out). */
function fields() {
  composer.sentRows = composer.rows.filter((row) => row.input.value.trim() !== "");
  return {
    symbol: value("composer-symbol"),
    side: side(),
    entry: entries(),
    stop_loss: value("composer-stop"),
    take_profits: composer.sentRows.map((row) => row.input.value.trim()),
    leverage: value("composer-leverage") || null,
    timeframe: value("composer-timeframe") || null,
    note: value("composer-note") || null,
  };
}

function complete(signal) {
  return (
    signal.symbol !== "" &&
    signal.entry.every((price) => price !== "") &&
    signal.stop_loss !== "" &&
    signal.take_profits.length > 0
  );
}

/* ---------- take-profit rows ---------- */

function addRow(price) {
  if (composer.rows.length >= MAX_TAKE_PROFITS) return null;
  const n = composer.rows.length + 1;
  const row = {
    name: h("span", { class: "tp-name", "aria-hidden": "true" }),
    input: h("input", {
      type: "text",
      class: "input price",
      inputmode: "decimal",
      maxlength: "32",
      autocomplete: "off",
      id: "composer-tp-" + n,
      "aria-describedby": "composer-tp-" + n + "-error composer-tp-" + n + "-rr",
    }),
    rr: h("output", { class: "rr", id: "composer-tp-" + n + "-rr" }),
    remove: h("button", { type: "button", class: "btn btn-plain btn-icon", text: "\u00d7" }),
    error: h("p", { class: "field-error", id: "composer-tp-" + n + "-error" }),
  };
  row.input.value = price || "";
  show(row.error, false);
  row.li = h("li", { class: "tp-row" }, row.name, row.input, row.rr, row.remove, row.error);
  row.remove.addEventListener("click", () => removeRow(row));
  composer.rows.push(row);
  append($("composer-tp-rows"), row.li);
  renumber();
  return row;
}

function removeRow(row) {
  const index = composer.rows.indexOf(row);
  if (index < 0 || composer.rows.length < 2) return;
  composer.rows.splice(index, 1);
  row.li.remove();
  renumber();
  const next = composer.rows[Math.min(index, composer.rows.length - 1)];
  next.input.focus();
  changed();
}

/** Labels follow the order: TP1 is always the first row. */
function renumber() {
  composer.rows.forEach((row, i) => {
    const n = i + 1;
    row.name.textContent = t("app.composer.tp", { n: n });
    row.input.setAttribute("aria-label", t("app.composer.tp_label", { n: n }));
    row.remove.setAttribute("aria-label", t("app.composer.remove_tp", { n: n }));
    show(row.remove, composer.rows.length > 1);
  });
  const full = composer.rows.length >= MAX_TAKE_PROFITS;
  $("composer-add-tp").disabled = full;
  $("composer-max-tps").textContent = t("app.composer.max_tps", { max: MAX_TAKE_PROFITS });
  show($("composer-max-tps"), full);
  showRewards();
}

/** Each row's R, worked out here as it is typed (risk.js), before the server checks. */
function showRewards() {
  const at = entries();
  const stop = value("composer-stop");
  composer.rows.forEach((row, i) => {
    const r = rewardToRisk(side(), at, stop, row.input.value.trim());
    const n = num(r);
    row.rr.textContent = n === null ? "" : (n < 0 ? "\u2212" : "") + fixed(Math.abs(n), 2) + "R";
    row.rr.className = "rr" + (n !== null && n < 0 ? " rr-negative" : "");
    const label =
      n === null
        ? t("app.composer.rr_none", { n: i + 1 })
        : t("app.composer.rr", { n: i + 1, r: row.rr.textContent.replace(/R$/, "") });
    row.rr.setAttribute("aria-label", label);
  });
}

/* ---------- errors at their fields ---------- */

function clearErrors() {
  Object.keys(FIELDS).forEach((name) => {
    const [input, line] = FIELDS[name];
    if (input) $(input).removeAttribute("aria-invalid");
    show($(line), false);
  });
  $("composer-entry-high").removeAttribute("aria-invalid");
  composer.rows.forEach((row) => {
    row.input.removeAttribute("aria-invalid");
    show(row.error, false);
  });
  show($("composer-post-error"), false);
}

/** Show the server's words at the field (and row) it names. */
function markField(field, index, message) {
  let input = null;
  let line = null;
  if (field === "take_profits" && Number.isInteger(index) && composer.sentRows[index]) {
    const row = composer.sentRows[index];
    input = row.input;
    line = row.error;
  } else if (Object.prototype.hasOwnProperty.call(FIELDS, field)) {
    input = FIELDS[field][0] ? $(FIELDS[field][0]) : null;
    line = $(FIELDS[field][1]);
    if (field === "entry" && index === 1 && $("composer-zone").checked) {
      input = $("composer-entry-high");
    }
  } else {
    line = $("composer-post-error");
  }
  line.textContent = message;
  show(line, true);
  if (input) input.setAttribute("aria-invalid", "true");
}

/* ---------- checking and the message ---------- */

function status(text) {
  $("composer-status").textContent = text;
}

function withdraw() {
  composer.checked = null;
  show($("composer-post"), false);
  clear($("composer-confirm"));
}

/** Any change: the rewards now, the server's check a moment later. */
function changed() {
  showRewards();
  clearErrors();
  withdraw();
  if (composer.timer) clearTimeout(composer.timer);
  composer.ticket += 1;
  if (!complete(fields())) {
    status(t("app.composer.fill_in"));
    show($("composer-message"), false);
    show($("composer-number-note"), false);
    return;
  }
  status(t("app.composer.checking"));
  composer.timer = setTimeout(check, CHECK_AFTER_MS);
}

async function check() {
  composer.timer = null;
  const ticket = ++composer.ticket;
  const signal = fields();
  let data;
  try {
    data = await call("POST", "/admin/signals/preview", { signal: signal });
  } catch (error) {
    if (ticket !== composer.ticket) return;
    show($("composer-message"), false);
    show($("composer-number-note"), false);
    if (error instanceof ApiError && error.status === 400) {
      markField(error.detail.field, error.detail.index, error.message);
      status(t("app.composer.fix"));
    } else {
      status("");
      report(error, $("composer-post-error"));
    }
    return;
  }
  if (ticket !== composer.ticket) return;
  composer.checked = JSON.stringify(signal);
  composer.recipients = typeof data.recipients === "number" ? data.recipients : 0;
  showMessage(data.message || []);
  status("");
  $("composer-post").textContent = tn("app.composer.post", composer.recipients);
  show($("composer-post"), true);
}

const MARKS = { b: "strong", i: "em", u: "u", s: "s", code: "code" };

/** The message as runs of text and their marks (webapp/message_runs.py), as DOM nodes. */
function showMessage(runs) {
  const box = clear($("composer-message"));
  runs.forEach((run) => {
    let node = document.createTextNode(String(run.text || ""));
    (run.marks || []).forEach((mark) => {
      if (Object.prototype.hasOwnProperty.call(MARKS, mark)) node = h(MARKS[mark], null, node);
    });
    append(box, node);
  });
  show(box, true);
  show($("composer-number-note"), true);
}

/* ---------- posting ---------- */

function confirmPost() {
  const signal = fields();
  if (composer.checked !== JSON.stringify(signal)) return;
  const question = tn("app.composer.confirm", composer.recipients, {
    symbol: signal.symbol.toUpperCase(),
    side: sideLabel(signal.side),
  });
  ask($("composer-confirm"), {
    question: question,
    action: t("app.composer.confirm_yes"),
    run: () => publish(signal),
  });
}

async function publish(signal) {
  let data;
  try {
    data = await call("POST", "/admin/signals", { signal: signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 429 && error.code === "too_many_signals") {
      const seconds = error.retryAfter || error.detail.retry_after || 60;
      return { message: t("app.composer.too_many", { seconds: seconds }) };
    }
    if (error instanceof ApiError && error.status === 400) {
      withdraw();
      markField(error.detail.field, error.detail.index, error.message);
      status(t("app.composer.fix"));
      return null;
    }
    if (error instanceof ApiError && error.status === 401) {
      report(error);
      return null;
    }
    return { message: describe(error) };
  }
  reset();
  status(t("app.composer.posted", { id: data.signal_id }));
  if (data.signal) addCard(data.signal);
  return null;
}

/** Empty fields for the next signal (the side stays as it was). */
function reset() {
  withdraw();
  ["composer-symbol", "composer-entry", "composer-entry-high", "composer-stop"].forEach(
    (id) => ($(id).value = ""),
  );
  ["composer-leverage", "composer-timeframe", "composer-note"].forEach((id) => ($(id).value = ""));
  $("composer-zone").checked = false;
  show($("composer-entry-high"), false);
  composer.rows.forEach((row) => row.li.remove());
  composer.rows = [];
  addRow();
  clearErrors();
  show($("composer-message"), false);
  show($("composer-number-note"), false);
}

/* ---------- wiring ---------- */

export function wireComposer() {
  const form = $("composer");
  form.addEventListener("submit", (event) => event.preventDefault());
  // Every field, the side and the zone switch say "input" as they change.
  form.addEventListener("input", changed);
  $("composer-zone").addEventListener("change", () => {
    const zone = $("composer-zone").checked;
    show($("composer-entry-high"), zone);
    if (zone) $("composer-entry-high").focus();
  });
  $("composer-add-tp").addEventListener("click", () => {
    const row = addRow();
    if (row) row.input.focus();
    changed();
  });
  $("composer-post").addEventListener("click", confirmPost);
  addRow();
  status(t("app.composer.fill_in"));
}

/** The language was switched: the rows' labels, and the message checked again in it. */
export function retextComposer() {
  renumber();
  changed();
}

export function focusComposer() {
  $("composer-symbol").focus();
}
