/* The JSON API client (webapp/API.md): ApiError, call(), the initData exchange, and what
 * an error means to the person using the app. */

import { state } from "./state.js";
import { tg } from "./telegram.js";
import { currentLanguage, t } from "./texts.js";

const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, detail, retryAfter) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail || {};
    // Seconds, from a 429's Retry-After (null without one).
    this.retryAfter = retryAfter || null;
  }
}

function retryAfter(response) {
  const seconds = parseInt(response.headers.get("Retry-After") || "", 10);
  return seconds > 0 ? seconds : null;
}

/** Call the API; the bearer token goes along unless `options.anonymous`. A 401 exchanges
 * the initData once more and tries again. Errors are ApiError; status 0 is the network. */
export async function call(method, path, body, options) {
  const opts = options || {};
  // The server renders what it says (a plan's label, a signal's problem) in this language.
  const headers = { Accept: "application/json", "Accept-Language": currentLanguage() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!opts.anonymous) {
    if (!state.token) throw new ApiError(401, "unauthorized", "not signed in");
    headers.Authorization = "Bearer " + state.token;
  }
  let response;
  try {
    response = await fetch(API + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: opts.cache || "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch (error) {
    throw new ApiError(0, "network", "network error");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (response.ok) return data || {};
  const err = (data && data.error) || {};
  if (response.status === 401 && !opts.anonymous && !opts.retried) {
    // The token is short-lived; Telegram's initData stays valid much longer. Exchange it
    // once more before telling the user to reopen the app.
    const renewed = await exchange().then(
      () => true,
      () => false,
    );
    if (renewed) return call(method, path, body, { retried: true });
  }
  throw new ApiError(
    response.status,
    err.code || "http_" + response.status,
    err.message || response.statusText || "",
    err,
    retryAfter(response),
  );
}

/** The page's texts in `language` (public, and cached by the browser as the server
 * allows); the server answers in its default for a language it does not offer. */
export function fetchTexts(language) {
  const query = language ? "?lang=" + encodeURIComponent(language) : "";
  return call("GET", "/texts" + query, undefined, { anonymous: true, cache: "default" });
}

export async function exchange() {
  const data = await call(
    "POST",
    "/miniapp/exchange-initdata",
    { init_data: tg.initData },
    { anonymous: true },
  );
  state.token = data.token;
  state.user = data.user || null;
  state.isAdmin = !!data.is_admin;
  state.permissions = Array.isArray(data.permissions) ? data.permissions : [];
  return data;
}

/** A payment link from the server, refused unless it is https. */
export function checkedLink(url) {
  if (typeof url !== "string" || url.indexOf("https://") !== 0) {
    throw new ApiError(502, "bad_link", "the payment link from the server looks wrong");
  }
  return url;
}

/** What went wrong, in words for the person using the app. */
export function describe(error) {
  if (!(error instanceof ApiError)) {
    return t("app.error.unexpected", {
      message: error && error.message ? error.message : error,
    });
  }
  if (error.status === 0) return t("app.error.network");
  if (error.status === 401) return t("app.error.session_expired");
  if (error.code === "not_configured" || (error.status === 503 && error.code === "http_503")) {
    return t("app.error.billing_off");
  }
  // Only the billing routes say "unavailable" for Stripe; the database away is not Stripe.
  if (error.status === 503 && error.code === "unavailable") return t("app.error.billing_down");
  if (error.status === 429) return t("app.error.too_many");
  if (error.status >= 500) return t("app.error.server", { status: error.status });
  return error.message || t("app.error.request_failed", { status: error.status });
}
