/* Telegram WebApp glue: theme, MainButton and BackButton, opening links. Every function
 * copes with Telegram's script missing (a plain browser) or an old client. */

import { ADMIN_TABS, state } from "./state.js";

export const tg = window.Telegram && window.Telegram.WebApp ? window.Telegram.WebApp : null;

const THEME_VARS = {
  bg_color: "--tg-theme-bg-color",
  text_color: "--tg-theme-text-color",
  hint_color: "--tg-theme-hint-color",
  link_color: "--tg-theme-link-color",
  button_color: "--tg-theme-button-color",
  button_text_color: "--tg-theme-button-text-color",
  secondary_bg_color: "--tg-theme-secondary-bg-color",
  destructive_text_color: "--tg-theme-destructive-text-color",
};

export function applyTheme() {
  if (!tg) return;
  const params = tg.themeParams || {};
  const root = document.documentElement;
  Object.keys(THEME_VARS).forEach((key) => {
    const value = params[key];
    if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
      root.style.setProperty(THEME_VARS[key], value);
    } else {
      root.style.removeProperty(THEME_VARS[key]);
    }
  });
  root.setAttribute("data-color-scheme", tg.colorScheme === "dark" ? "dark" : "light");
}

export function mainButton() {
  return tg && tg.MainButton ? tg.MainButton : null;
}

export function backButton() {
  return tg && tg.BackButton ? tg.BackButton : null;
}

export function hideMainButton() {
  const button = mainButton();
  if (!button) return;
  if (button.hideProgress) button.hideProgress();
  button.hide();
}

/** BackButton: shown on a signal's detail and on the admin screens. */
export function updateBackButton() {
  const button = backButton();
  if (!button || state.expired) return;
  if (state.detail || ADMIN_TABS.indexOf(state.tab) >= 0) button.show();
  else button.hide();
}

/** Open an https link (api.js's checkedLink) in Telegram's browser, or a new tab. */
export function openLink(url) {
  if (tg && typeof tg.openLink === "function") tg.openLink(url);
  else window.open(url, "_blank", "noopener");
}

/** Open a Telegram Stars invoice in the app; `done` gets "paid", "cancelled", "failed" or
 * "pending". Without Telegram (or on an old client) the link opens as a page instead. */
export function openInvoice(url, done) {
  if (tg && typeof tg.openInvoice === "function") tg.openInvoice(url, done);
  else openLink(url);
}
