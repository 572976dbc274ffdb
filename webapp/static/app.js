/* SignalDesk Mini App: Telegram WebApp glue, the JSON API client and the screens.
 *
 * No build step and no dependencies besides Telegram's telegram-web-app.js. The page runs
 * under a strict Content-Security-Policy, so everything is built with DOM APIs (no innerHTML,
 * no inline styles, no eval). The bearer token lives in a variable of this closure only.
 */
(function () {
  "use strict";

  var API = "/api/v1";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var TABS = ["subscription", "signals", "performance", "compose", "stats"];
  var ADMIN_TABS = ["compose", "stats"];
  var THEME_VARS = {
    bg_color: "--tg-theme-bg-color",
    text_color: "--tg-theme-text-color",
    hint_color: "--tg-theme-hint-color",
    link_color: "--tg-theme-link-color",
    button_color: "--tg-theme-button-color",
    button_text_color: "--tg-theme-button-text-color",
    secondary_bg_color: "--tg-theme-secondary-bg-color",
    destructive_text_color: "--tg-theme-destructive-text-color",
  };
  var SOURCES = { stripe: "Stripe", grant: "Granted by the provider", trial: "Free trial" };
  var STATES = {
    active: "Active",
    trialing: "Free trial",
    past_due: "Payment overdue",
    unpaid: "Unpaid",
    canceled: "Cancelled",
    incomplete: "Awaiting first payment",
    incomplete_expired: "Expired before paying",
    paused: "Paused",
    grant: "Granted access",
  };

  var tg = window.Telegram && window.Telegram.WebApp ? window.Telegram.WebApp : null;

  var state = {
    token: null, // in memory only: never in a URL, cookie or storage
    user: null,
    isAdmin: false,
    me: null,
    tab: null,
    lastSubscriberTab: "signals",
    detail: null,
    detailOpener: null,
    preview: null, // {text, recipients}
    sending: false,
    broadcastId: null,
    pollTimer: null,
    expired: false,
  };

  /* ---------- small DOM helpers ---------- */

  function $(id) {
    return document.getElementById(id);
  }

  function h(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach(function (c) {
        append(node, c);
      });
    } else if (typeof child === "string" || typeof child === "number") {
      node.appendChild(document.createTextNode(String(child)));
    } else {
      node.appendChild(child);
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  /* ---------- formatting ---------- */

  function num(value) {
    if (value === null || value === undefined || value === "") return null;
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  function signed(n, digits) {
    var text = Math.abs(n).toFixed(digits);
    if (n > 0) return "+" + text;
    if (n < 0) return "\u2212" + text;
    return text;
  }

  function fmtR(value) {
    var n = num(value);
    return n === null ? "\u2014" : signed(n, 2) + "R";
  }

  function fmtPct(value) {
    var n = num(value);
    return n === null ? "\u2014" : signed(n, 2) + "%";
  }

  function fmtRate(value) {
    var n = num(value);
    return n === null ? "\u2014" : n.toFixed(1).replace(/\.0$/, "") + "%";
  }

  function resultClass(value) {
    var n = num(value);
    if (n === null || n === 0) return "result-flat";
    return n > 0 ? "result-pos" : "result-neg";
  }

  function fmtDate(iso) {
    if (!iso) return "\u2014";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return iso;
    return date.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  }

  function fmtDateTime(iso) {
    if (!iso) return "\u2014";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return iso;
    return date.toLocaleString(undefined, {
      day: "numeric",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  function entryText(signal) {
    if (signal.entry_low && signal.entry_high && signal.entry_low !== signal.entry_high) {
      return signal.entry_low + "\u2013" + signal.entry_high;
    }
    return signal.entry_low || signal.entry_high || "\u2014";
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function signalStatus(signal) {
    return humanize(signal.status_label || signal.status || "");
  }

  function humanize(text) {
    var words = String(text).replace(/_/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  /* ---------- API client ---------- */

  function ApiError(status, code, message, detail) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.message = message;
    this.detail = detail || {};
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  async function call(method, path, body, options) {
    var opts = options || {};
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (!opts.anonymous) {
      if (!state.token) throw new ApiError(401, "unauthorized", "not signed in");
      headers.Authorization = "Bearer " + state.token;
    }
    var response;
    try {
      response = await fetch(API + path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
    } catch (error) {
      throw new ApiError(0, "network", "network error");
    }
    var data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (response.ok) return data || {};
    var err = (data && data.error) || {};
    if (response.status === 401 && !opts.anonymous && !opts.retried) {
      // The token is short-lived; Telegram's initData stays valid much longer. Exchange it
      // once more before telling the user to reopen the app.
      var renewed = await exchange().then(
        function () {
          return true;
        },
        function () {
          return false;
        },
      );
      if (renewed) return call(method, path, body, { retried: true });
    }
    throw new ApiError(
      response.status,
      err.code || "http_" + response.status,
      err.message || response.statusText || "request failed",
      err,
    );
  }

  function describe(error) {
    if (!(error instanceof ApiError)) {
      return "Something went wrong in the app: " + (error && error.message ? error.message : error);
    }
    if (error.status === 0) {
      return "Network error: SignalDesk could not be reached. Check your connection and try again.";
    }
    if (error.status === 401) {
      return "Your session has expired. Close the app and reopen it from the bot.";
    }
    if (error.code === "not_configured" || (error.status === 503 && error.code === "http_503")) {
      return "Billing is not configured yet, so subscriptions cannot be bought right now. Please try again later.";
    }
    if (error.status === 503) {
      return "Payments are unavailable for a moment (Stripe cannot be reached). Please try again.";
    }
    if (error.status === 429) {
      return "Too many requests. Wait a moment and try again.";
    }
    if (error.status >= 500) {
      return "The server had a problem (HTTP " + error.status + "). Please try again.";
    }
    return error.message || "The request failed (HTTP " + error.status + ").";
  }

  /** Show an error where it happened; a 401 also takes over the page-wide notice. */
  function report(error, where, retry) {
    var text = describe(error);
    if (error instanceof ApiError && error.status === 401) {
      expire();
      return;
    }
    if (where) {
      where.textContent = text;
      show(where, true);
    } else {
      notify(text, retry);
    }
    if (error instanceof ApiError && error.status === 0 && where && retry) notify(text, retry);
  }

  function expire() {
    state.expired = true;
    state.token = null;
    stopPolling();
    hideMainButton();
    var back = backButton();
    if (back) back.hide();
    show($("notice"), false);
    $("fatal-title").textContent = "Session expired";
    $("fatal-text").textContent = describe(new ApiError(401, "unauthorized", "expired"));
    show($("fatal-retry"), false);
    showScreen("fatal");
    $("fatal").focus();
  }

  function notify(text, retry) {
    $("notice-text").textContent = text;
    var button = $("notice-retry");
    show(button, !!retry);
    button.onclick = retry
      ? function () {
          show($("notice"), false);
          retry();
        }
      : null;
    show($("notice"), true);
  }

  function hideNotice() {
    show($("notice"), false);
  }

  async function exchange() {
    var data = await call(
      "POST",
      "/miniapp/exchange-initdata",
      { init_data: tg.initData },
      { anonymous: true },
    );
    state.token = data.token;
    state.user = data.user || null;
    state.isAdmin = !!data.is_admin;
    return data;
  }

  /* ---------- Telegram glue ---------- */

  function applyTheme() {
    if (!tg) return;
    var params = tg.themeParams || {};
    var root = document.documentElement;
    Object.keys(THEME_VARS).forEach(function (key) {
      var value = params[key];
      if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        root.style.setProperty(THEME_VARS[key], value);
      } else {
        root.style.removeProperty(THEME_VARS[key]);
      }
    });
    root.setAttribute("data-color-scheme", tg.colorScheme === "dark" ? "dark" : "light");
  }

  function mainButton() {
    return tg && tg.MainButton ? tg.MainButton : null;
  }

  function backButton() {
    return tg && tg.BackButton ? tg.BackButton : null;
  }

  function hideMainButton() {
    var button = mainButton();
    if (!button) return;
    button.hideProgress && button.hideProgress();
    button.hide();
  }

  function updateMainButton() {
    var button = mainButton();
    if (!button || state.expired) return;
    if (state.tab === "compose" && state.preview && !state.expired) {
      button.setText(sendLabel(state.preview.recipients));
      if (state.sending) {
        button.disable();
        button.showProgress && button.showProgress(false);
      } else {
        button.hideProgress && button.hideProgress();
        button.enable();
      }
      button.show();
    } else {
      hideMainButton();
    }
  }

  function updateBackButton() {
    var button = backButton();
    if (!button || state.expired) return;
    if (state.detail || ADMIN_TABS.indexOf(state.tab) >= 0) button.show();
    else button.hide();
  }

  function onBack() {
    if (state.detail) closeDetail();
    else if (ADMIN_TABS.indexOf(state.tab) >= 0) selectTab(state.lastSubscriberTab, true);
  }

  function openLink(url) {
    if (typeof url !== "string" || url.indexOf("https://") !== 0) {
      throw new ApiError(502, "bad_link", "the payment link from the server looks wrong");
    }
    if (tg && typeof tg.openLink === "function") tg.openLink(url);
    else window.open(url, "_blank", "noopener");
  }

  /* ---------- start-up ---------- */

  function showScreen(id) {
    ["loading", "outside", "fatal", "app"].forEach(function (name) {
      show($(name), name === id);
    });
  }

  function boot() {
    $("notice-dismiss").addEventListener("click", function () {
      show($("notice"), false);
    });
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
    if (!tg || !tg.initData) {
      showScreen("outside");
      return;
    }
    wireUp();
    start();
  }

  async function start() {
    showScreen("loading");
    state.expired = false;
    $("fatal-title").textContent = "Something went wrong";
    try {
      await exchange();
      state.me = await call("GET", "/me");
    } catch (error) {
      var retryable = !(error instanceof ApiError) || error.status === 0 || error.status >= 429;
      $("fatal-text").textContent =
        error instanceof ApiError && error.status === 401
          ? "Telegram could not confirm who you are, or this session has expired. Close the app and reopen it from the bot."
          : describe(error);
      show($("fatal-retry"), retryable);
      showScreen("fatal");
      return;
    }
    if (typeof state.me.is_admin === "boolean") state.isAdmin = state.me.is_admin;
    var user = state.me.user || state.user;
    if (user) {
      var name = user.first_name || (user.username ? "@" + user.username : "");
      $("user-line").textContent = name;
      show($("user-line"), !!name);
    }
    ADMIN_TABS.forEach(function (name) {
      show($("tab-" + name), state.isAdmin);
    });
    showScreen("app");
    // Subscribers land on the feed; admins without a subscription on the track record
    // (the feed would be locked for them); everyone else on the plans.
    var first = "subscription";
    if (state.me.has_access) first = "signals";
    else if (state.isAdmin) first = "performance";
    selectTab(first, false);
  }

  function wireUp() {
    $("fatal-retry").addEventListener("click", start);
    TABS.forEach(function (name) {
      $("tab-" + name).addEventListener("click", function () {
        selectTab(name, false);
      });
    });
    $("tablist").addEventListener("keydown", onTabKey);
    $("locked-subscribe").addEventListener("click", async function () {
      await selectTab("subscription", false);
      var first = document.querySelector("#plans .btn");
      (first || $("panel-subscription")).focus();
    });
    $("manage-billing").addEventListener("click", manageBilling);
    $("detail-back").addEventListener("click", closeDetail);
    $("compose-form").addEventListener("submit", function (event) {
      event.preventDefault();
      previewSignal();
    });
    $("compose-text").addEventListener("input", onComposeInput);
    $("send-button").addEventListener("click", onSend);
    $("compose-another").addEventListener("click", function () {
      show($("progress"), false);
      $("compose-text").focus();
    });
    document.addEventListener("visibilitychange", function () {
      // Back from Stripe Checkout or the portal: show the new state.
      if (document.visibilityState === "visible" && state.tab === "subscription" && state.token) {
        loadSubscription();
      }
    });
  }

  /* ---------- tabs ---------- */

  function visibleTabs() {
    return TABS.filter(function (name) {
      return !$("tab-" + name).hidden;
    });
  }

  function onTabKey(event) {
    var tabs = visibleTabs();
    var index = tabs.indexOf(state.tab);
    var next = null;
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
    if (ADMIN_TABS.indexOf(name) >= 0 && !state.isAdmin) name = "signals";
    if (ADMIN_TABS.indexOf(name) < 0) state.lastSubscriberTab = name;
    state.tab = name;
    state.detail = null;
    show($("panel-detail"), false);
    TABS.forEach(function (other) {
      var tab = $("tab-" + other);
      var selected = other === name;
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
    if (name === "stats") return loadStats();
    if (name === "compose") $("compose-text").focus();
    return Promise.resolve();
  }

  /* ---------- Subscription ---------- */

  async function loadSubscription() {
    var errorBox = $("sub-error");
    show(errorBox, false);
    try {
      state.me = await call("GET", "/me");
    } catch (error) {
      report(error, errorBox);
      return;
    }
    renderSubscription(state.me);
    var showPlans = !state.me.has_access || !!(state.me.subscription && state.me.subscription.source !== "stripe");
    show($("plans-title"), false);
    clear($("plans"));
    show($("plans-note"), false);
    if (!showPlans) return;
    if (!state.me.billing_enabled) {
      $("plans-note").textContent = "Payments are not set up yet. Please check back later.";
      show($("plans-note"), true);
      return;
    }
    try {
      var data = await call("GET", "/plans");
      renderPlans(data.plans || []);
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
    var box = clear($("sub-state"));
    var sub = me.subscription;
    if (!sub) {
      append(box, [
        h("h2", { text: "Your subscription" }),
        me.has_access
          ? h("p", { text: "You have access to every signal." })
          : h("p", { text: "You are not subscribed yet." }),
        me.has_access || !me.billing_enabled
          ? null
          : h("p", {
              class: "hint",
              text: "Pick a plan below to get every signal in your chat the moment it is posted.",
            }),
      ]);
      show($("manage-wrap"), !!me.can_manage_billing);
      return;
    }
    var tone = "badge-bad";
    if (sub.active) tone = sub.cancel_at_period_end ? "badge-warn" : "badge-good";
    var facts = h("dl", { class: "facts" });
    function fact(label, value) {
      append(facts, [h("dt", { text: label }), h("dd", { text: value })]);
    }
    fact("Plan", sub.plan || "\u2014");
    if (sub.active && sub.renews_at && !sub.cancel_at_period_end) fact("Renews on", fmtDate(sub.renews_at));
    if (sub.cancel_at_period_end) fact("Ends on", fmtDate(sub.ends_at || sub.renews_at));
    else if (sub.ends_at) fact(sub.active ? "Ends on" : "Ended on", fmtDate(sub.ends_at));
    fact("Source", SOURCES[sub.source] || humanize(sub.source || "\u2014"));
    append(box, [
      h(
        "div",
        { class: "state-line" },
        h("h2", { text: "Your subscription" }),
        h("span", { class: "badge " + tone, id: "sub-status", text: sub.status_label || humanize(sub.status) }),
      ),
      facts,
      sub.cancel_at_period_end
        ? h("p", { class: "hint", text: "Cancelled: it will not renew. You keep access until it ends." })
        : null,
    ]);
    show($("manage-wrap"), !!me.can_manage_billing);
  }

  function renderPlans(plans) {
    var list = clear($("plans"));
    show($("plans-title"), plans.length > 0);
    if (!plans.length) {
      $("plans-note").textContent = "No plans are on sale right now.";
      show($("plans-note"), true);
      return;
    }
    plans.forEach(function (plan) {
      var label = plan.label || plan.name;
      var price = label.indexOf(" \u2014 ") >= 0 ? label.split(" \u2014 ").slice(1).join(" \u2014 ") : label;
      var button = h("button", {
        type: "button",
        class: "btn btn-small",
        "data-price-id": plan.price_id,
        "aria-label": "Subscribe to " + label,
        text: "Subscribe",
      });
      button.addEventListener("click", function () {
        checkout(plan, button);
      });
      append(
        list,
        h(
          "li",
          { class: "plan" },
          h("div", null, h("p", { class: "plan-name", text: plan.name }), h("p", { class: "plan-price", text: price })),
          button,
        ),
      );
    });
  }

  async function checkout(plan, button) {
    var buttons = document.querySelectorAll("#plans .btn");
    buttons.forEach(function (b) {
      b.disabled = true;
    });
    button.textContent = "Opening\u2026";
    var errorBox = $("sub-error");
    show(errorBox, false);
    try {
      var data = await call("POST", "/billing/checkout", { price_id: plan.price_id });
      openLink(data.url);
    } catch (error) {
      if (error instanceof ApiError && error.code === "already_subscribed") {
        errorBox.textContent = "You already have an active subscription. Use Manage billing to change it.";
        show(errorBox, true);
      } else {
        report(error, errorBox);
      }
    } finally {
      button.textContent = "Subscribe";
      buttons.forEach(function (b) {
        b.disabled = false;
      });
    }
  }

  async function manageBilling() {
    var button = $("manage-billing");
    var errorBox = $("sub-error");
    show(errorBox, false);
    button.disabled = true;
    try {
      var data = await call("POST", "/billing/portal");
      openLink(data.url);
    } catch (error) {
      if (error instanceof ApiError && error.code === "no_customer") {
        errorBox.textContent = "There is no billing account to manage yet: subscribe first.";
        show(errorBox, true);
      } else {
        report(error, errorBox);
      }
    } finally {
      button.disabled = false;
    }
  }

  /* ---------- Signals ---------- */

  async function loadSignals() {
    var errorBox = $("signals-error");
    show(errorBox, false);
    var data;
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

  function statusTone(signal) {
    if (signal.status === "stopped") return "badge-bad";
    if (signal.status === "cancelled") return "";
    if (signal.closed_at) return num(signal.result_r) > 0 ? "badge-good" : "badge-bad";
    return "badge-good";
  }

  function renderFeed(signals) {
    var feed = clear($("feed"));
    show($("signals-empty"), signals.length === 0);
    signals.forEach(function (signal) {
      var hasResult = num(signal.result_r) !== null || num(signal.result_pct) !== null;
      var tps = (signal.take_profits || []).join(" / ");
      var button = h(
        "button",
        {
          type: "button",
          class: "signal-button",
          "data-signal-id": signal.id,
          "aria-label":
            signal.side + " " + signal.symbol + ", signal " + signal.id + ", " + signalStatus(signal) +
            (hasResult ? ", result " + fmtR(signal.result_r) : "") + ". Show details",
        },
        h(
          "span",
          { class: "signal-head" },
          h(
            "span",
            { class: "signal-title" },
            h("span", { class: "side side-" + signal.side, text: signal.side }),
            " " + signal.symbol + " ",
            h("span", { class: "hint", text: "#" + signal.id }),
          ),
          h("span", { class: "badge " + statusTone(signal), text: signalStatus(signal) }),
        ),
        h("span", {
          class: "signal-levels",
          text: "Entry " + entryText(signal) + " \u00b7 SL " + signal.stop_loss + " \u00b7 TP " + tps,
        }),
        h(
          "span",
          { class: "signal-foot" },
          h("span", { class: "hint", text: fmtDateTime(signal.published_at) }),
          hasResult
            ? h("span", {
                class: resultClass(signal.result_r),
                text: fmtR(signal.result_r) + " (" + fmtPct(signal.result_pct) + ")",
              })
            : null,
        ),
      );
      button.addEventListener("click", function () {
        openDetail(signal, button);
      });
      append(feed, h("li", { class: "signal" }, button));
    });
  }

  function signalFacts(signal) {
    var facts = h("dl", { class: "facts" });
    function fact(label, value) {
      if (value === null || value === undefined || value === "") return;
      append(facts, [h("dt", { text: label }), h("dd", null, value)]);
    }
    fact("Entry", entryText(signal));
    fact("Stop loss", signal.stop_loss);
    var tps = h("span");
    (signal.take_profits || []).forEach(function (tp, i) {
      var hit = signal.tp_hit && i < signal.tp_hit;
      append(tps, [i ? ", " : "", "TP" + (i + 1) + " " + tp + (hit ? " \u2713" : "")]);
    });
    fact("Take profits", tps);
    if (signal.leverage) fact("Leverage", signal.leverage + "\u00d7");
    if (signal.timeframe) fact("Timeframe", signal.timeframe);
    if (signal.published_at) fact("Published", fmtDateTime(signal.published_at));
    if (signal.closed_at) fact("Closed", fmtDateTime(signal.closed_at));
    if (signal.exit_price) fact("Exit price", signal.exit_price);
    if (signal.note) fact("Note", h("span", { class: "note", text: signal.note }));
    if (num(signal.result_r) !== null || num(signal.result_pct) !== null) {
      fact(
        "Result",
        h("span", { class: resultClass(signal.result_r), text: fmtR(signal.result_r) + " (" + fmtPct(signal.result_pct) + ")" }),
      );
    }
    return facts;
  }

  function openDetail(signal, opener) {
    state.detail = signal;
    state.detailOpener = opener || null;
    var box = clear($("detail"));
    append(box, [
      h(
        "div",
        { class: "state-line" },
        h(
          "h2",
          { id: "detail-title" },
          h("span", { class: "side side-" + signal.side, text: signal.side }),
          " " + signal.symbol + " #" + signal.id,
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

  function closeDetail() {
    var opener = state.detailOpener;
    state.detail = null;
    state.detailOpener = null;
    show($("panel-detail"), false);
    show($("panel-signals"), state.tab === "signals");
    updateBackButton();
    if (opener && document.body.contains(opener)) opener.focus();
  }

  /* ---------- Track record ---------- */

  async function loadPerformance() {
    var errorBox = $("perf-error");
    show(errorBox, false);
    var data;
    try {
      data = await call("GET", "/performance");
    } catch (error) {
      report(error, errorBox, loadPerformance);
      return;
    }
    renderPerformance(data);
  }

  function renderPerformance(data) {
    var windows = data.windows || [];
    var all = windows.length ? windows[windows.length - 1] : null;
    var headline = clear($("perf-headline"));
    function big(value, label, cls) {
      return h("div", null, h("div", { class: "big " + (cls || ""), text: value }), h("div", { class: "big-label", text: label }));
    }
    append(headline, [
      big(all ? fmtRate(all.win_rate) : "\u2014", "Win rate" + (all ? " (" + all.label.toLowerCase() + ")" : "")),
      big(all ? fmtR(all.total_r) : "\u2014", "Total R", all ? resultClass(all.total_r) : ""),
      big(String(all ? all.count : 0), "Closed signals"),
    ]);
    var rows = clear($("perf-rows"));
    windows.forEach(function (w) {
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
    var signals = data.signals || [];
    var bars = clear($("bars-chart"));
    var equity = clear($("equity-chart"));
    if (!signals.length) {
      append(bars, h("p", { class: "hint", text: "No closed signals yet." }));
      append(equity, h("p", { class: "hint", text: "The curve starts with the first closed signal." }));
      return;
    }
    append(bars, barChart(signals));
    append(equity, equityChart(data.equity || []));
  }

  /** Round-number ticks covering [lo, hi]. */
  function ticks(lo, hi, count) {
    var span = hi - lo || 1;
    var raw = span / count;
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10]
      .map(function (m) {
        return m * power;
      })
      .filter(function (s) {
        return s >= raw;
      })[0];
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return out;
  }

  function chartFrame(id, title, description, width, height) {
    return svg(
      "svg",
      {
        id: id,
        viewBox: "0 0 " + width + " " + height,
        role: "img",
        "aria-labelledby": id + "-title " + id + "-desc",
        "aria-label": title + ". " + description,
        preserveAspectRatio: "xMidYMid meet",
      },
      svg("title", { id: id + "-title", text: title }),
      svg("desc", { id: id + "-desc", text: description }),
    );
  }

  function scaleY(lo, hi, top, bottom) {
    if (hi === lo) hi = lo + 1;
    return function (v) {
      return bottom - ((v - lo) / (hi - lo)) * (bottom - top);
    };
  }

  function yAxis(root, values, y, left, right) {
    values.forEach(function (v) {
      var py = y(v).toFixed(1);
      append(root, [
        svg("line", { class: v === 0 ? "axis" : "grid", x1: left, x2: right, y1: py, y2: py }),
        svg("text", { class: "label", x: left - 4, y: py, "text-anchor": "end", "dominant-baseline": "middle", text: signed(v, v % 1 ? 1 : 0) + "R" }),
      ]);
    });
  }

  function barChart(signals) {
    var W = 320;
    var H = 170;
    var left = 34;
    var right = W - 6;
    var top = 8;
    var bottom = H - 22;
    var values = signals.map(function (s) {
      return num(s.result_r) || 0;
    });
    var wins = values.filter(function (v) {
      return v > 0;
    }).length;
    var best = Math.max.apply(null, values);
    var worst = Math.min.apply(null, values);
    var description =
      plural(values.length, "closed signal", "closed signals") + ": " + wins + " won, " + (values.length - wins) +
      " did not. Best " + fmtR(best) + ", worst " + fmtR(worst) + ".";
    var root = chartFrame("bars-svg", "R per closed signal", description, W, H);
    var lo = Math.min(0, worst);
    var hi = Math.max(0, best);
    var grid = ticks(lo, hi, 4);
    lo = Math.min(lo, grid[0]);
    hi = Math.max(hi, grid[grid.length - 1]);
    var y = scaleY(lo, hi, top, bottom);
    yAxis(root, grid, y, left, right);
    var band = (right - left) / values.length;
    var barWidth = Math.max(1, Math.min(28, band * 0.7));
    var group = svg("g", { class: "bars" });
    signals.forEach(function (signal, i) {
      var v = values[i];
      var x = left + band * i + (band - barWidth) / 2;
      var y0 = y(0);
      var y1 = y(v);
      var rect = svg(
        "rect",
        {
          class: v >= 0 ? "bar-pos" : "bar-neg",
          x: x.toFixed(1),
          y: Math.min(y0, y1).toFixed(1),
          width: barWidth.toFixed(1),
          height: Math.max(1, Math.abs(y1 - y0)).toFixed(1),
          rx: Math.min(3, barWidth / 4).toFixed(1),
          "data-signal-id": signal.id,
        },
        svg("title", { text: "#" + signal.id + " " + signal.symbol + " " + signal.side + ": " + fmtR(signal.result_r) }),
      );
      append(group, rect);
      if (values.length <= 12) {
        append(
          group,
          svg("text", { class: "label", x: (x + barWidth / 2).toFixed(1), y: H - 6, "text-anchor": "middle", text: "#" + signal.id }),
        );
      }
    });
    append(root, group);
    return root;
  }

  function equityChart(points) {
    var W = 320;
    var H = 170;
    var left = 34;
    var right = W - 10;
    var top = 10;
    var bottom = H - 22;
    var values = [0].concat(
      points.map(function (p) {
        return num(p.cumulative_r) || 0;
      }),
    );
    var last = values[values.length - 1];
    var hiV = Math.max.apply(null, values);
    var loV = Math.min.apply(null, values);
    var description =
      "Cumulative result after " + plural(points.length, "closed signal", "closed signals") + ": " + fmtR(last) +
      ". Highest " + fmtR(hiV) + ", lowest " + fmtR(loV) + ".";
    var root = chartFrame("equity-svg", "Equity curve in R", description, W, H);
    var grid = ticks(loV, hiV, 4);
    var lo = Math.min(loV, grid[0]);
    var hi = Math.max(hiV, grid[grid.length - 1]);
    var y = scaleY(lo, hi, top, bottom);
    yAxis(root, grid, y, left, right);
    var step = (right - left) / Math.max(1, values.length - 1);
    var coords = values.map(function (v, i) {
      return [left + step * i, y(v)];
    });
    var line = coords
      .map(function (c, i) {
        return (i ? "L" : "M") + c[0].toFixed(1) + " " + c[1].toFixed(1);
      })
      .join(" ");
    var zero = y(0).toFixed(1);
    var area = line + " L" + coords[coords.length - 1][0].toFixed(1) + " " + zero + " L" + left + " " + zero + " Z";
    append(root, [svg("path", { class: "area", d: area }), svg("path", { class: "line", d: line })]);
    if (values.length <= 40) {
      coords.slice(1).forEach(function (c, i) {
        var p = points[i];
        append(
          root,
          svg("circle", { class: "dot", cx: c[0].toFixed(1), cy: c[1].toFixed(1), r: 2.5 }, svg("title", { text: "After #" + p.id + ": " + fmtR(p.cumulative_r) })),
        );
      });
    }
    append(root, [
      svg("text", { class: "label", x: left, y: H - 6, "text-anchor": "start", text: "start" }),
      svg("text", { class: "label", x: right, y: H - 6, "text-anchor": "end", text: "now " + fmtR(last) }),
    ]);
    return root;
  }

  /* ---------- Admin: compose, preview, send, progress ---------- */

  function sendLabel(recipients) {
    return "Send to " + plural(recipients, "subscriber", "subscribers");
  }

  function onComposeInput() {
    var text = $("compose-text").value;
    $("compose-text").removeAttribute("aria-invalid");
    show($("compose-error"), false);
    if (state.preview && text.trim() !== state.preview.text) {
      state.preview = null;
      show($("preview"), false);
      updateMainButton();
    }
  }

  async function previewSignal() {
    var area = $("compose-text");
    var text = area.value.trim();
    var errorBox = $("compose-error");
    show(errorBox, false);
    area.removeAttribute("aria-invalid");
    state.preview = null;
    show($("preview"), false);
    updateMainButton();
    if (!text) {
      errorBox.textContent = "Type a signal first, e.g. BTCUSDT long entry 65000 sl 63500 tp 67000.";
      show(errorBox, true);
      area.setAttribute("aria-invalid", "true");
      area.focus();
      return;
    }
    var button = $("preview-button");
    button.disabled = true;
    try {
      var data = await call("POST", "/admin/signals/preview", { text: text });
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
    var token = typeof error.detail.token === "string" ? error.detail.token : "";
    var box = clear($("compose-error"));
    if (token && error.message.indexOf(token) < 0) {
      append(box, ["Problem with ", h("code", { text: token }), ": " + error.message]);
    } else {
      box.textContent = error.message;
    }
    show(box, true);
    area.setAttribute("aria-invalid", "true");
    area.focus();
    var at = token ? text.indexOf(token) : -1;
    if (at >= 0) area.setSelectionRange(at, at + token.length);
  }

  function renderPreview(text, data) {
    var recipients = typeof data.recipients === "number" ? data.recipients : 0;
    state.preview = { text: text, recipients: recipients };
    var signal = data.signal || {};
    var body = clear($("preview-body"));
    append(body, [
      h(
        "p",
        { class: "signal-title" },
        h("span", { class: "side side-" + signal.side, text: signal.side }),
        " " + signal.symbol,
      ),
      signalFacts(signal),
    ]);
    $("preview-canonical").textContent = data.canonical || "";
    $("send-button").textContent = sendLabel(recipients);
    $("send-button").disabled = false;
    show($("preview"), true);
    updateMainButton();
  }

  async function onSend() {
    if (!state.preview || state.sending || state.tab !== "compose") return;
    var text = state.preview.text;
    state.sending = true;
    $("send-button").disabled = true;
    updateMainButton();
    var errorBox = $("compose-error");
    show(errorBox, false);
    var data;
    try {
      data = await call("POST", "/admin/signals", { text: text });
    } catch (error) {
      state.sending = false;
      $("send-button").disabled = false;
      updateMainButton();
      if (error instanceof ApiError && error.status === 400) showSyntaxError($("compose-text"), text, error);
      else report(error, errorBox);
      return;
    }
    state.sending = false;
    state.preview = null;
    $("compose-text").value = "";
    show($("preview"), false);
    updateMainButton();
    startProgress(data);
  }

  function startProgress(data) {
    stopPolling();
    state.broadcastId = data.broadcast_id;
    $("progress-title").textContent = "Signal #" + data.signal_id + ": delivery";
    renderProgress({ total: data.total, sent: 0, pending: data.total, failed: 0, blocked: 0, skipped: 0, done: false });
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
      var progress = await call("GET", "/admin/broadcasts/" + encodeURIComponent(id));
      if (id !== state.broadcastId) return;
      renderProgress(progress);
      if (progress.done) return;
    } catch (error) {
      if (error instanceof ApiError && error.status !== 0 && error.status < 500 && error.status !== 429) {
        report(error, $("compose-error"));
        return;
      }
      // Transient: say so and keep polling.
      $("progress-text").textContent = describe(error) + " Still trying\u2026";
    }
    if (id === state.broadcastId) {
      state.pollTimer = setTimeout(function () {
        pollBroadcast(id);
      }, 1000);
    }
  }

  function renderProgress(p) {
    var total = p.total || 0;
    var processed = (p.sent || 0) + (p.failed || 0) + (p.blocked || 0) + (p.skipped || 0);
    var bar = $("progress-bar");
    bar.max = Math.max(1, total);
    bar.value = total ? Math.min(processed, total) : p.done ? 1 : 0;
    if (p.title) $("progress-title").textContent = p.title;
    var extras = [];
    if (p.failed) extras.push(p.failed + " failed");
    if (p.blocked) extras.push(p.blocked + " blocked the bot");
    if (p.skipped) extras.push(p.skipped + " skipped");
    var text;
    if (p.done) {
      text = "Done: delivered to " + p.sent + " of " + plural(total, "subscriber", "subscribers") + ".";
    } else {
      text = "Sending\u2026 " + (p.sent || 0) + " of " + total + " delivered, " + (p.pending || 0) + " pending.";
    }
    if (extras.length) text += " " + humanize(extras.join(", ")) + ".";
    $("progress-text").textContent = text;
    $("progress").setAttribute("data-done", p.done ? "true" : "false");
    show($("compose-another"), !!p.done);
  }

  /* ---------- Admin: stats ---------- */

  async function loadStats() {
    var errorBox = $("stats-error");
    show(errorBox, false);
    var data;
    try {
      data = await call("GET", "/admin/stats");
    } catch (error) {
      report(error, errorBox, loadStats);
      return;
    }
    var mrr = (data.mrr || [])
      .map(function (m) {
        return m.label;
      })
      .join(" + ");
    var grid = clear($("stats-grid"));
    function stat(label, value, id) {
      append(grid, h("div", { class: "stat", id: id }, h("div", { class: "big", text: String(value) }), h("div", { class: "big-label", text: label })));
    }
    stat("MRR", mrr || "\u2014", "stat-mrr");
    stat("With access", data.with_access, "stat-access");
    stat("New in 30 days", data.new_30d, "stat-new");
    stat("Churned in 30 days", data.churned_30d, "stat-churned");
    stat("Users", data.users, "stat-users");
    stat("Blocked the bot", data.blocked, "stat-blocked");
    var rows = clear($("state-rows"));
    var states = Object.keys(data.by_state || {}).sort(function (a, b) {
      return data.by_state[b] - data.by_state[a];
    });
    if (!states.length) {
      append(rows, h("tr", null, h("td", { colspan: 2, class: "hint", text: "No subscriptions yet." })));
    }
    states.forEach(function (name) {
      append(rows, h("tr", null, h("th", { scope: "row", text: STATES[name] || humanize(name) }), h("td", { text: String(data.by_state[name]) })));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
