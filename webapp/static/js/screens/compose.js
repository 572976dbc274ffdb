/* Admin: compose a signal, preview it, send it (the Send button or Telegram's MainButton),
 * and follow its delivery. Only previewed text is ever sent. */

import { ApiError, call, describe } from "../api.js";
import { $, append, clear, h, show } from "../dom.js";
import { report } from "../notice.js";
import { state } from "../state.js";
import { hideMainButton, mainButton } from "../telegram.js";
import { rich, t, tn } from "../texts.js";
import { signalFacts, signalTitle } from "./signals.js";

const POLL_MS = 1000;

function sendLabel(recipients) {
  return tn("app.compose.send_to", recipients);
}

/** MainButton: "Send to N subscribers" while a preview stands on the compose screen. */
export function updateMainButton() {
  const button = mainButton();
  if (!button || state.expired) return;
  if (state.tab === "compose" && state.preview) {
    button.setText(sendLabel(state.preview.recipients));
    if (state.sending) {
      button.disable();
      if (button.showProgress) button.showProgress(false);
    } else {
      if (button.hideProgress) button.hideProgress();
      button.enable();
    }
    button.show();
  } else {
    hideMainButton();
  }
}

/** Any edit withdraws the preview. */
export function onComposeInput() {
  const text = $("compose-text").value;
  $("compose-text").removeAttribute("aria-invalid");
  show($("compose-error"), false);
  if (state.preview && text.trim() !== state.preview.text) {
    state.preview = null;
    show($("preview"), false);
    updateMainButton();
  }
}

export async function previewSignal() {
  const area = $("compose-text");
  const text = area.value.trim();
  const errorBox = $("compose-error");
  show(errorBox, false);
  area.removeAttribute("aria-invalid");
  state.preview = null;
  show($("preview"), false);
  updateMainButton();
  if (!text) {
    errorBox.textContent = t("app.compose.empty");
    show(errorBox, true);
    area.setAttribute("aria-invalid", "true");
    area.focus();
    return;
  }
  const button = $("preview-button");
  button.disabled = true;
  try {
    const data = await call("POST", "/admin/signals/preview", { text: text });
    renderPreview(text, data);
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      showSyntaxError(area, text, error);
    } else {
      report(error, errorBox);
    }
  } finally {
    button.disabled = false;
  }
}

function showSyntaxError(area, text, error) {
  const token = typeof error.detail.token === "string" ? error.detail.token : "";
  const box = clear($("compose-error"));
  if (token && error.message.indexOf(token) < 0) {
    append(box, rich("app.compose.problem", { token: token, problem: error.message }));
  } else {
    box.textContent = error.message;
  }
  show(box, true);
  area.setAttribute("aria-invalid", "true");
  area.focus();
  const at = token ? text.indexOf(token) : -1;
  if (at >= 0) area.setSelectionRange(at, at + token.length);
}

function renderPreview(text, data) {
  const recipients = typeof data.recipients === "number" ? data.recipients : 0;
  state.preview = { text: text, recipients: recipients };
  const signal = data.signal || {};
  append(clear($("preview-body")), [signalTitle(signal), signalFacts(signal)]);
  $("preview-canonical").textContent = data.canonical || "";
  $("send-button").textContent = sendLabel(recipients);
  $("send-button").disabled = false;
  show($("preview"), true);
  updateMainButton();
}

export async function onSend() {
  if (!state.preview || state.sending || state.tab !== "compose") return;
  const text = state.preview.text;
  state.sending = true;
  $("send-button").disabled = true;
  updateMainButton();
  const errorBox = $("compose-error");
  show(errorBox, false);
  let data;
  try {
    data = await call("POST", "/admin/signals", { text: text });
  } catch (error) {
    state.sending = false;
    $("send-button").disabled = false;
    updateMainButton();
    if (error instanceof ApiError && error.status === 400) {
      showSyntaxError($("compose-text"), text, error);
    } else {
      report(error, errorBox);
    }
    return;
  }
  state.sending = false;
  state.preview = null;
  $("compose-text").value = "";
  show($("preview"), false);
  updateMainButton();
  startProgress(data);
  document.dispatchEvent(new CustomEvent("signalposted", { detail: data }));
}

function startProgress(data) {
  stopPolling();
  state.broadcastId = data.broadcast_id;
  $("progress-title").textContent = t("app.progress.signal", { id: data.signal_id });
  renderProgress({
    total: data.total,
    sent: 0,
    pending: data.total,
    failed: 0,
    blocked: 0,
    skipped: 0,
    done: false,
  });
  show($("progress"), true);
  pollBroadcast(data.broadcast_id);
}

function stopPolling() {
  if (state.pollTimer) clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

async function pollBroadcast(id) {
  state.pollTimer = null;
  try {
    const progress = await call("GET", "/admin/broadcasts/" + encodeURIComponent(id));
    if (id !== state.broadcastId) return;
    renderProgress(progress);
    if (progress.done) return;
  } catch (error) {
    const transient = !(error instanceof ApiError) || error.status === 0;
    if (!transient && error.status < 500 && error.status !== 429) {
      report(error, $("compose-error"));
      return;
    }
    // Transient: say so and keep polling.
    $("progress-text").textContent = t("app.progress.retrying", { error: describe(error) });
  }
  if (id === state.broadcastId) {
    state.pollTimer = setTimeout(() => pollBroadcast(id), POLL_MS);
  }
}

function renderProgress(p) {
  const total = p.total || 0;
  const processed = (p.sent || 0) + (p.failed || 0) + (p.blocked || 0) + (p.skipped || 0);
  const bar = $("progress-bar");
  bar.max = Math.max(1, total);
  bar.value = total ? Math.min(processed, total) : p.done ? 1 : 0;
  if (p.title) $("progress-title").textContent = p.title;
  const problems = [];
  if (p.failed) problems.push(t("app.progress.failed", { count: p.failed }));
  if (p.blocked) problems.push(t("app.progress.blocked", { count: p.blocked }));
  if (p.skipped) problems.push(t("app.progress.skipped", { count: p.skipped }));
  let text;
  if (p.done) {
    text = tn("app.progress.done", total, { sent: p.sent });
  } else {
    text = t("app.progress.sending", { sent: p.sent || 0, total: total, pending: p.pending || 0 });
  }
  if (problems.length) {
    text = t("app.progress.problems", { progress: text, problems: problems.join(", ") });
  }
  $("progress-text").textContent = text;
  $("progress").setAttribute("data-done", p.done ? "true" : "false");
  show($("compose-another"), !!p.done);
}
