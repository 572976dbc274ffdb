/* The one state the modules share. The bearer token lives here and nowhere else: never in
 * a URL, a cookie or storage. */

export const TABS = ["subscription", "signals", "performance", "compose", "stats", "subscribers"];
export const ADMIN_TABS = ["compose", "stats", "subscribers"];
// Each admin tab opens for whoever holds one of these (the server's names, GET /api/v1/me's
// `permissions`; bot/accounts/roles.py). The routes behind each check again.
const TAB_PERMISSIONS = {
  compose: ["post_signals"],
  stats: ["read_stats", "export"],
  subscribers: ["look_up"],
};

export const state = {
  token: null, // in memory only
  user: null,
  isAdmin: false, // in any role: some admin tab opens
  permissions: [],
  me: null,
  tab: null,
  lastSubscriberTab: "signals",
  detail: null,
  detailOpener: null,
  preview: null, // {text, recipients}
  sending: false,
  broadcastId: null,
  pollTimer: null,
  deskWatch: new Set(), // the signal cards whose delivery is still followed
  deskTimer: null,
  expired: false,
};

/** Whether the caller holds `permission` (what the page shows; the server decides). */
export function may(permission) {
  return state.permissions.indexOf(permission) >= 0;
}

/** Whether a tab opens for the caller: every subscriber tab, and the admin tabs their role
 * reaches. */
export function mayOpen(tab) {
  const needed = TAB_PERMISSIONS[tab];
  return !needed || needed.some(may);
}
