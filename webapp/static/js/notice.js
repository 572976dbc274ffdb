/* Where errors show: in place, in the page-wide notice, or (a lost session) on the fatal
 * screen. */

import { ApiError, describe } from "./api.js";
import { $, show, showScreen } from "./dom.js";
import { state } from "./state.js";
import { backButton, hideMainButton } from "./telegram.js";
import { t } from "./texts.js";

/** Show an error where it happened; a 401 also takes over the page-wide notice. */
export function report(error, where, retry) {
  const text = describe(error);
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

/** The session is gone for good: say so, and stop everything that would use it. */
export function expire() {
  state.expired = true;
  state.token = null;
  if (state.pollTimer) clearTimeout(state.pollTimer); // no more delivery polls
  state.pollTimer = null;
  if (state.deskTimer) clearTimeout(state.deskTimer);
  state.deskTimer = null;
  hideMainButton();
  const back = backButton();
  if (back) back.hide();
  show($("notice"), false);
  $("fatal-title").textContent = t("app.fatal.expired_title");
  $("fatal-text").textContent = describe(new ApiError(401, "unauthorized", "expired"));
  show($("fatal-retry"), false);
  showScreen("fatal");
  $("fatal").focus();
}

export function notify(text, retry) {
  $("notice-text").textContent = text;
  const button = $("notice-retry");
  show(button, !!retry);
  button.onclick = retry
    ? () => {
        show($("notice"), false);
        retry();
      }
    : null;
  show($("notice"), true);
}

export function hideNotice() {
  show($("notice"), false);
}
