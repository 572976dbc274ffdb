/* Subscription: the caller's state, the plans on sale (Stripe Checkout, Telegram Stars),
 * the billing portal. */

import { ApiError, call, checkedLink, describe } from "../api.js";
import { withConsent } from "../consent.js";
import { $, append, clear, h, show } from "../dom.js";
import { DASH, fmtDate, humanize } from "../format.js";
import { report } from "../notice.js";
import { state } from "../state.js";
import { openInvoice, openLink } from "../telegram.js";
import { t } from "../texts.js";
import { loadSettings } from "./settings.js";

const SOURCES = {
  stripe: "app.source.stripe",
  grant: "app.source.grant",
  stars: "app.source.stars",
  trial: "app.source.trial",
};

export async function loadSubscription() {
  const errorBox = $("sub-error");
  show(errorBox, false);
  try {
    state.me = await call("GET", "/me");
  } catch (error) {
    report(error, errorBox);
    return;
  }
  renderSubscription(state.me);
  loadSettings();
  const sub = state.me.subscription;
  // A grant or a trial can be turned into a subscription; a paid one is managed instead.
  const paid = sub && (sub.source === "stripe" || sub.source === "stars") && sub.active;
  const showPlans = !state.me.has_access || !paid;
  show($("plans-title"), false);
  clear($("plans"));
  show($("plans-note"), false);
  if (!showPlans) return;
  if (!state.me.billing_enabled) {
    $("plans-note").textContent = t("app.plans.off");
    show($("plans-note"), true);
    return;
  }
  try {
    const data = await call("GET", "/plans");
    renderPlans(data.plans || [], data.stars || null);
  } catch (error) {
    if (error instanceof ApiError && error.status === 503) {
      $("plans-note").textContent = describe(error);
      show($("plans-note"), true);
    } else {
      report(error, errorBox, loadSubscription);
    }
  }
}

function renderSubscription(me) {
  const box = clear($("sub-state"));
  const sub = me.subscription;
  if (!sub) {
    append(box, [
      h("h2", { text: t("app.sub.title") }),
      h("p", { text: t(me.has_access ? "app.sub.has_access" : "app.sub.not_subscribed") }),
      me.has_access || !me.billing_enabled
        ? null
        : h("p", { class: "hint", text: t("app.sub.pick_plan") }),
    ]);
    show($("manage-wrap"), !!me.can_manage_billing);
    return;
  }
  let tone = "badge-bad";
  if (sub.active) tone = sub.cancel_at_period_end ? "badge-warn" : "badge-good";
  const facts = h("dl", { class: "facts" });
  const fact = (id, value) => append(facts, [h("dt", { text: t(id) }), h("dd", { text: value })]);
  fact("app.sub.plan", sub.plan || DASH);
  if (sub.active && sub.renews_at && !sub.cancel_at_period_end) {
    fact("app.sub.renews_on", fmtDate(sub.renews_at));
  }
  // Cancelled at the period's end: "Ends on" while it runs, "Ended on" once it is over.
  if (sub.active && sub.cancel_at_period_end) {
    fact("app.sub.ends_on", fmtDate(sub.ends_at || sub.renews_at));
  } else if (sub.ends_at) {
    fact(sub.active ? "app.sub.ends_on" : "app.sub.ended_on", fmtDate(sub.ends_at));
  }
  const known = Object.prototype.hasOwnProperty.call(SOURCES, sub.source);
  fact("app.sub.source", known ? t(SOURCES[sub.source]) : humanize(sub.source || DASH));
  append(box, [
    h(
      "div",
      { class: "state-line" },
      h("h2", { text: t("app.sub.title") }),
      // The server's words for the state (the bot's state.* texts).
      h("span", {
        class: "badge " + tone,
        id: "sub-status",
        text: sub.status_label || humanize(sub.status),
      }),
    ),
    facts,
    sub.cancel_at_period_end ? h("p", { class: "hint", text: t("app.sub.cancelled") }) : null,
  ]);
  show($("manage-wrap"), !!me.can_manage_billing);
}

function planItem(name, price, button) {
  return h(
    "li",
    { class: "plan" },
    h(
      "div",
      null,
      h("p", { class: "plan-name", text: name }),
      h("p", { class: "plan-price", text: price }),
    ),
    button,
  );
}

function renderPlans(plans, stars) {
  const list = clear($("plans"));
  show($("plans-title"), plans.length > 0 || !!stars);
  if (stars) {
    const button = h("button", {
      type: "button",
      class: "btn btn-small",
      id: "pay-stars",
      "aria-label": t("app.plans.pay_stars_label", { price: stars.price }),
      text: t("app.plans.pay_stars"),
    });
    button.addEventListener("click", () => payStars(button));
    const price = t("app.plans.stars_price", { price: stars.price });
    append(list, planItem(t("app.plans.stars_name"), price, button));
  }
  if (!plans.length && !stars) {
    $("plans-note").textContent = t("app.plans.none");
    show($("plans-note"), true);
    return;
  }
  plans.forEach((plan) => {
    // The server's label is "<name> — <price>" (the bot's plan.label).
    const label = plan.label || plan.name;
    const dash = " \u2014 ";
    const price = label.indexOf(dash) >= 0 ? label.split(dash).slice(1).join(dash) : label;
    const button = h("button", {
      type: "button",
      class: "btn btn-small",
      "data-price-id": plan.price_id,
      "aria-label": t("app.plans.subscribe_to", { plan: label }),
      text: t("app.action.subscribe"),
    });
    button.addEventListener("click", () => checkout(plan, button));
    append(list, planItem(plan.name, price, button));
  });
}

/** Telegram Stars: an invoice only this user can pay, opened in the app; once paid, the
 * bot has booked it (the payment reached it first), so the state is simply reloaded. */
async function payStars(button) {
  const errorBox = $("sub-error");
  show(errorBox, false);
  button.disabled = true;
  let url;
  try {
    const data = await withConsent(() => call("POST", "/billing/stars-invoice"));
    if (!data) {
      button.disabled = false;
      return;
    }
    url = checkedLink(data.url);
  } catch (error) {
    button.disabled = false;
    if (error instanceof ApiError && error.code === "already_subscribed") {
      errorBox.textContent = t("app.error.already_subscribed");
      show(errorBox, true);
    } else {
      report(error, errorBox);
    }
    return;
  }
  openInvoice(url, (status) => {
    button.disabled = false;
    if (status === "paid") loadSubscription();
    else if (status === "failed") {
      errorBox.textContent = t("app.plans.stars_failed");
      show(errorBox, true);
    }
  });
}

async function checkout(plan, button) {
  const buttons = document.querySelectorAll("#plans .btn");
  buttons.forEach((b) => {
    b.disabled = true;
  });
  button.textContent = t("app.plans.opening");
  const errorBox = $("sub-error");
  show(errorBox, false);
  try {
    const pay = () => call("POST", "/billing/checkout", { price_id: plan.price_id });
    const data = await withConsent(pay);
    if (data) openLink(checkedLink(data.url));
  } catch (error) {
    if (error instanceof ApiError && error.code === "already_subscribed") {
      errorBox.textContent = t("app.error.already_subscribed");
      show(errorBox, true);
    } else {
      report(error, errorBox);
    }
  } finally {
    button.textContent = t("app.action.subscribe");
    buttons.forEach((b) => {
      b.disabled = false;
    });
  }
}

export async function manageBilling() {
  const button = $("manage-billing");
  const errorBox = $("sub-error");
  show(errorBox, false);
  button.disabled = true;
  try {
    const data = await call("POST", "/billing/portal");
    openLink(checkedLink(data.url));
  } catch (error) {
    if (error instanceof ApiError && error.code === "no_customer") {
      errorBox.textContent = t("app.error.no_customer");
      show(errorBox, true);
    } else {
      report(error, errorBox);
    }
  } finally {
    button.disabled = false;
  }
}
