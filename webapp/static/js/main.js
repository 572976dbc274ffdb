/* SignalDesk Mini App: boot, start-up, tabs and wiring.
 *
 * Native ES modules, no build step, no dependencies besides Telegram's telegram-web-app.js
 * (loaded by its own tag before this one). The page runs under a strict
 * Content-Security-Policy, so everything is built with DOM APIs (no innerHTML, no inline
 * styles, no eval). Its words come from the server's catalogue (texts.js), fetched before
 * anything but a neutral spinner is shown.
 *
 * Modules: state.js (the shared state), dom.js, format.js, texts.js, api.js, notice.js
 * (where errors show), telegram.js, charts.js, and one per screen under screens/.
 */

import { ApiError, call, describe, exchange, fetchTexts } from "./api.js";
import { $, show, showScreen } from "./dom.js";
import { switchLanguage } from "./language.js";
import { hideNotice } from "./notice.js";
import { onComposeInput, onSend, previewSignal, updateMainButton } from "./screens/compose.js";
import { focusComposer, retextComposer, wireComposer } from "./screens/composer.js";
import { loadDesk } from "./screens/desk.js";
import { loadPerformance } from "./screens/performance.js";
import { closeDetail, loadSignals } from "./screens/signals.js";
import { wireSettings } from "./screens/settings.js";
import { loadAnalytics } from "./screens/analytics.js";
import { loadStats, showExports } from "./screens/stats.js";
import { closePerson, searchPeople } from "./screens/subscribers.js";
import { loadSubscription, manageBilling } from "./screens/subscription.js";
import { ADMIN_TABS, TABS, mayOpen, state } from "./state.js";
import { applyTheme, backButton, mainButton, tg, updateBackButton } from "./telegram.js";
import { applyTexts, currentLanguage, t, useFallback, useTexts } from "./texts.js";

/* ---------- start-up ---------- */

// What the fatal screen's "Try again" does: fetch the texts again, or sign in again.
let retryFatal = prepare;

function boot() {
  $("notice-dismiss").addEventListener("click", hideNotice);
  $("fatal-retry").addEventListener("click", () => retryFatal());
  if (tg) {
    try {
      tg.ready();
      tg.expand();
    } catch (error) {
      /* old clients: nothing to do */
    }
    applyTheme();
    if (typeof tg.onEvent === "function") tg.onEvent("themeChanged", applyTheme);
    if (mainButton()) mainButton().onClick(onSend);
    if (backButton()) backButton().onClick(onBack);
  }
  prepare();
}

/** The language to ask for before the server has said which the user reads: their
 * Telegram app's, else the browser's. */
function firstLanguage() {
  const user = tg && tg.initDataUnsafe && tg.initDataUnsafe.user;
  if (user && typeof user.language_code === "string") return user.language_code;
  return navigator.language || "";
}

/** The texts first: nothing but the spinner shows without them. */
async function prepare() {
  showScreen("loading");
  try {
    useTexts(await fetchTexts(currentLanguage() || firstLanguage()));
  } catch (error) {
    // No catalogue: the fatal screen, in the fallback's few words.
    useFallback();
    applyTexts($("fatal"));
    $("fatal-text").textContent = t("app.error.network");
    show($("fatal-retry"), true);
    showScreen("fatal");
    return;
  }
  applyTexts(document);
  if (!tg || !tg.initData) {
    showScreen("outside");
    return;
  }
  wireUp();
  retryFatal = start;
  start();
}

async function start() {
  showScreen("loading");
  state.expired = false;
  $("fatal-title").textContent = t("app.fatal.title");
  try {
    await exchange();
    state.me = await call("GET", "/me");
  } catch (error) {
    const retryable = !(error instanceof ApiError) || error.status === 0 || error.status >= 429;
    $("fatal-text").textContent =
      error instanceof ApiError && error.status === 401
        ? t("app.error.not_confirmed")
        : describe(error);
    show($("fatal-retry"), retryable);
    showScreen("fatal");
    return;
  }
  if (state.me.language && state.me.language !== currentLanguage()) {
    // They chose another language in the chat (/language): the page follows.
    await switchLanguage(state.me.language);
    retextComposer();
  }
  if (typeof state.me.is_admin === "boolean") state.isAdmin = state.me.is_admin;
  if (Array.isArray(state.me.permissions)) state.permissions = state.me.permissions;
  const user = state.me.user || state.user;
  if (user) {
    const name = user.first_name || (user.username ? "@" + user.username : "");
    $("user-line").textContent = name;
    show($("user-line"), !!name);
  }
  // Only the admin tabs the caller's role reaches (a poster: the composer; an analyst:
  // the statistics and exports; support: the people search).
  ADMIN_TABS.forEach((name) => show($("tab-" + name), mayOpen(name)));
  showExports();
  showScreen("app");
  // Subscribers land on the feed; admins without a subscription on the track record
  // (the feed would be locked for them); everyone else on the plans.
  let first = "subscription";
  if (state.me.has_access) first = "signals";
  else if (state.isAdmin) first = "performance";
  selectTab(first, false);
}

function wireUp() {
  wireSettings();
  wireComposer();
  TABS.forEach((name) => {
    $("tab-" + name).addEventListener("click", () => selectTab(name, false));
  });
  $("tablist").addEventListener("keydown", onTabKey);
  $("locked-subscribe").addEventListener("click", async () => {
    await selectTab("subscription", false);
    const first = document.querySelector("#plans .btn");
    (first || $("panel-subscription")).focus();
  });
  $("manage-billing").addEventListener("click", manageBilling);
  $("detail-back").addEventListener("click", closeDetail);
  $("compose-form").addEventListener("submit", (event) => {
    event.preventDefault();
    previewSignal();
  });
  $("compose-text").addEventListener("input", onComposeInput);
  $("people-form").addEventListener("submit", (event) => {
    event.preventDefault();
    searchPeople();
  });
  $("person-back").addEventListener("click", closePerson);
  $("send-button").addEventListener("click", onSend);
  $("compose-another").addEventListener("click", () => {
    show($("progress"), false);
    $("compose-text").focus();
  });
  // A language chosen on the settings screen: the open tab shows its data in it.
  document.addEventListener("languagechange", () => {
    retextComposer();
    showExports();
    selectTab(state.tab, false);
  });
  // A signal sent from the pasted line: its card joins the list.
  document.addEventListener("signalposted", () => {
    if (state.tab === "compose") loadDesk();
  });
  document.addEventListener("visibilitychange", () => {
    // Back from Stripe Checkout or the portal: show the new state.
    if (document.visibilityState === "visible" && state.tab === "subscription" && state.token) {
      loadSubscription();
    }
  });
}

/* ---------- tabs ---------- */

function visibleTabs() {
  return TABS.filter((name) => !$("tab-" + name).hidden);
}

function onTabKey(event) {
  const tabs = visibleTabs();
  const index = tabs.indexOf(state.tab);
  let next = null;
  if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
  else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
  else if (event.key === "Home") next = tabs[0];
  else if (event.key === "End") next = tabs[tabs.length - 1];
  if (next) {
    event.preventDefault();
    selectTab(next, true);
  }
}

function selectTab(name, focus) {
  if (!mayOpen(name)) name = "signals";
  if (ADMIN_TABS.indexOf(name) < 0) state.lastSubscriberTab = name;
  state.tab = name;
  state.detail = null;
  show($("panel-detail"), false);
  TABS.forEach((other) => {
    const tab = $("tab-" + other);
    const selected = other === name;
    tab.setAttribute("aria-selected", selected ? "true" : "false");
    tab.tabIndex = selected ? 0 : -1;
    show($("panel-" + other), selected);
  });
  if (focus) $("tab-" + name).focus();
  hideNotice();
  updateBackButton();
  updateMainButton();
  if (name === "subscription") return loadSubscription();
  if (name === "signals") return loadSignals();
  if (name === "performance") return loadPerformance();
  if (name === "stats") return Promise.all([loadStats(), loadAnalytics()]);
  if (name === "compose") {
    focusComposer();
    return loadDesk();
  }
  if (name === "subscribers") $("people-query").focus();
  return Promise.resolve();
}

/** Telegram's BackButton: out of a signal's detail, or from the admin screens. */
function onBack() {
  if (state.detail) closeDetail();
  else if (state.tab === "subscribers" && !$("person").hidden) closePerson();
  else if (ADMIN_TABS.indexOf(state.tab) >= 0) selectTab(state.lastSubscriberTab, true);
}

// A module runs after the document is parsed (it is deferred).
boot();
