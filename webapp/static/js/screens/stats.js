/* Admin: subscriber figures, MRR, and subscriptions by state; the CSV exports. */

import { ApiError, call } from "../api.js";
import { $, append, clear, h, show } from "../dom.js";
import { DASH, humanize } from "../format.js";
import { report } from "../notice.js";
import { may, state } from "../state.js";
import { t } from "../texts.js";

// The CSV downloads (GET /api/v1/admin/exports/<kind>.csv) and who sees each button: the
// audit log's is for those who read it (owners), the others for analysts too.
const EXPORTS = [
  ["subscribers", "export", "app.exports.subscribers"],
  ["payments", "export", "app.exports.payments"],
  ["signals", "export", "app.exports.signals"],
  ["audit", "read_audit", "app.exports.audit"],
];

// by_state's keys: Stripe's subscription statuses, "grant" for complimentary access and
// "stars" for Telegram Stars subscriptions.
const STATES = {
  active: "app.state.active",
  trialing: "app.state.trialing",
  past_due: "app.state.past_due",
  unpaid: "app.state.unpaid",
  canceled: "app.state.canceled",
  incomplete: "app.state.incomplete",
  incomplete_expired: "app.state.incomplete_expired",
  paused: "app.state.paused",
  grant: "app.state.grant",
  stars: "app.state.stars",
};

function stateLabel(name) {
  return Object.prototype.hasOwnProperty.call(STATES, name) ? t(STATES[name]) : humanize(name);
}

export async function loadStats() {
  show($("stats-figures"), may("read_stats"));
  if (!may("read_stats")) return;
  const errorBox = $("stats-error");
  show(errorBox, false);
  let data;
  try {
    data = await call("GET", "/admin/stats");
  } catch (error) {
    report(error, errorBox, loadStats);
    return;
  }
  // The server formats each currency's amount ("$98.00").
  const mrr = (data.mrr || []).map((m) => m.label).join(" + ");
  const grid = clear($("stats-grid"));
  const stat = (id, value, element) => {
    append(
      grid,
      h(
        "div",
        { class: "stat", id: element },
        h("div", { class: "big", text: String(value) }),
        h("div", { class: "big-label", text: t(id) }),
      ),
    );
  };
  stat("app.stats.mrr", mrr || DASH, "stat-mrr");
  stat("app.stats.with_access", data.with_access, "stat-access");
  stat("app.stats.new_30d", data.new_30d, "stat-new");
  stat("app.stats.churned_30d", data.churned_30d, "stat-churned");
  stat("app.stats.users", data.users, "stat-users");
  stat("app.stats.blocked", data.blocked, "stat-blocked");
  const byState = data.by_state || {};
  const rows = clear($("state-rows"));
  const states = Object.keys(byState).sort((a, b) => byState[b] - byState[a]);
  if (!states.length) {
    const empty = h("td", { colspan: 2, class: "hint", text: t("app.stats.none") });
    append(rows, h("tr", null, empty));
  }
  states.forEach((name) => {
    append(
      rows,
      h(
        "tr",
        null,
        h("th", { scope: "row", text: stateLabel(name) }),
        h("td", { text: String(byState[name]) }),
      ),
    );
  });
}

/** The export buttons the caller's role reaches (none: the card stays hidden). */
export function showExports() {
  const row = clear($("export-buttons"));
  const shown = EXPORTS.filter(([, permission]) => may(permission));
  shown.forEach(([kind, , label]) => {
    const button = h("button", {
      type: "button",
      class: "btn btn-small btn-secondary",
      id: "export-" + kind,
      text: t(label),
    });
    button.addEventListener("click", () => download(kind, button));
    append(row, button);
  });
  show($("exports"), shown.length > 0);
}

/** The CSV fetched with the bearer token (a link could not carry it), then saved. */
async function download(kind, button) {
  const errorBox = $("exports-error");
  show(errorBox, false);
  button.disabled = true;
  try {
    const response = await fetch("/api/v1/admin/exports/" + kind + ".csv", {
      headers: { Authorization: "Bearer " + state.token },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const err = body.error || {};
      throw new ApiError(response.status, err.code || "http", err.message || "", err);
    }
    const url = URL.createObjectURL(await response.blob());
    const day = new Date().toISOString().slice(0, 10);
    const link = h("a", { href: url, download: kind + "-" + day + ".csv", hidden: true });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (error) {
    report(error, errorBox);
  } finally {
    button.disabled = false;
  }
}
