/* The one state the modules share. The bearer token lives here and nowhere else: never in
 * a URL, a cookie or storage. */

export const TABS = ["subscription", "signals", "performance", "compose", "stats", "subscribers"];
export const ADMIN_TABS = ["compose", "stats", "subscribers"];

export const state = {
  token: null, // in memory only
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
  deskWatch: new Set(), // the signal cards whose delivery is still followed
  deskTimer: null,
  expired: false,
};
