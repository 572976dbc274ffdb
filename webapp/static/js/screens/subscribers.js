/* Admin: find a subscriber (by Telegram id, @username or name) and read their timeline,
 * the same as /user shows in chat. */

import { call } from "../api.js";
import { $, append, clear, h, show } from "../dom.js";
import { fmtDate, fmtDateTime, humanize } from "../format.js";
import { report } from "../notice.js";
import { may } from "../state.js";
import { t } from "../texts.js";

function nameOf(user) {
  const name = user.first_name || "";
  const handle = user.username ? "@" + user.username : "";
  return [name, handle].filter(Boolean).join(" ") || String(user.id);
}

function accessBadge(hasAccess) {
  return h("span", {
    class: "badge " + (hasAccess ? "badge-good" : ""),
    text: t(hasAccess ? "app.people.access_on" : "app.people.access_off"),
  });
}

export async function searchPeople() {
  const query = $("people-query").value.trim();
  const errorBox = $("people-error");
  show(errorBox, false);
  show($("person"), false);
  if (!query) {
    $("people-query").focus();
    return;
  }
  let data;
  try {
    data = await call("GET", "/admin/subscribers?q=" + encodeURIComponent(query));
  } catch (error) {
    report(error, errorBox, searchPeople);
    return;
  }
  const list = clear($("people-results"));
  show(list, true);
  const found = data.subscribers || [];
  if (!found.length) {
    append(list, h("li", { class: "hint", text: t("app.people.none", { query: query }) }));
  }
  found.forEach((user) => {
    const button = h(
      "button",
      { type: "button", class: "person-button", "data-user-id": user.id },
      h("span", { class: "person-name", text: nameOf(user) }),
      " ",
      h("span", { class: "hint", text: String(user.id) }),
      " ",
      accessBadge(user.has_access),
      user.blocked ? h("span", { class: "badge badge-bad", text: t("app.people.blocked") }) : null,
    );
    button.addEventListener("click", () => openPerson(user.id));
    append(list, h("li", null, button));
  });
}

export async function openPerson(userId) {
  const errorBox = $("people-error");
  show(errorBox, false);
  let data;
  try {
    data = await call("GET", "/admin/subscribers/" + encodeURIComponent(userId));
  } catch (error) {
    report(error, errorBox, () => openPerson(userId));
    return;
  }
  renderPerson(data);
  show($("people-results"), false);
  show($("person"), true);
  $("person-title").focus();
}

export function closePerson() {
  show($("person"), false);
  show($("people-results"), true);
  const first = document.querySelector("#people-results .person-button");
  (first || $("people-query")).focus();
}

function entitlementItem(row) {
  const ends = row.expires_at ? fmtDate(row.expires_at) : t("app.people.no_end");
  const about = {
    source: row.source_label || humanize(row.source),
    state: row.status_label || humanize(row.status),
    ends: ends,
  };
  return h(
    "li",
    { class: row.active ? "entitlement active" : "entitlement" },
    t("app.people.entitlement", about),
    row.ref ? h("span", { class: "hint", text: " " + row.ref }) : null,
  );
}

function eventItem(event) {
  const about = {
    date: fmtDateTime(event.at),
    kind: event.kind_label || humanize(event.kind),
    status: event.status_label || event.status,
  };
  return h(
    "li",
    { class: "event event-" + event.status },
    t("app.people.event", about),
    event.error ? h("span", { class: "hint", text: " \u2014 " + event.error }) : null,
  );
}

function section(titleId, items) {
  const list = h("ul", { class: "timeline" });
  append(list, items.length ? items : h("li", { class: "hint", text: t("app.people.empty") }));
  return [h("h3", { class: "section-title", text: t(titleId) }), list];
}

function renderPerson(data) {
  const user = data.user;
  $("person-title").textContent = nameOf(user);
  const body = clear($("person-body"));
  append(
    body,
    h(
      "p",
      null,
      accessBadge(data.has_access),
      " ",
      t("app.people.joined", { id: user.id, date: fmtDate(user.joined_at) }),
    ),
  );
  if (user.blocked_at) {
    const blocked = t("app.people.blocked_on", { date: fmtDate(user.blocked_at) });
    append(body, h("p", { class: "hint", text: blocked }));
  }
  // The risk disclaimer: the latest version accepted before paying (docs/consents.md).
  const accepted = (data.consents || []).slice(-1)[0];
  const consent = accepted
    ? t("app.people.consent", { version: accepted.version, date: fmtDate(accepted.accepted_at) })
    : t("app.people.no_consent");
  append(body, h("p", { class: "hint", id: "person-consent", text: consent }));
  append(body, section("app.people.entitlements", data.entitlements.map(entitlementItem)));
  if (data.refundable && may("refund")) append(body, refundButton(user.id));
  append(body, section("app.people.events", data.events.map(eventItem)));
}

/** Refund the latest Stars payment: the first tap arms the button, the second refunds. */
function refundButton(userId) {
  const button = h("button", {
    type: "button",
    class: "btn btn-secondary",
    id: "person-refund",
    text: t("app.people.refund"),
  });
  const result = h("p", { class: "hint", id: "person-refund-result", role: "status" });
  let armed = false;
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = t("app.people.refund_confirm");
      return;
    }
    button.disabled = true;
    try {
      const done = await call("POST", "/admin/subscribers/" + userId + "/refund", {});
      result.textContent = t("app.people.refunded", { amount: done.amount });
      button.hidden = true;
    } catch (error) {
      button.disabled = false;
      report(error, $("people-error"));
    }
  });
  return h("div", { class: "actions" }, button, result);
}
