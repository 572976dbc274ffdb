/* Changing the language the page shows, without reloading it: the texts of the new
 * language, the page's fixed words filled again, and a "languagechange" event on
 * document for the open screen to render its data again (main.js reloads the tab). */

import { fetchTexts } from "./api.js";
import { $ } from "./dom.js";
import { applyTexts, t, useTexts } from "./texts.js";

/** Show the page in `language`; false (and the words it had) if the texts cannot be
 * fetched. */
export async function switchLanguage(language) {
  try {
    useTexts(await fetchTexts(language));
  } catch (error) {
    return false;
  }
  applyTexts(document);
  $("fatal-title").textContent = t("app.fatal.title");
  return true;
}
