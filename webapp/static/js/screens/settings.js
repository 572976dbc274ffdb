/* Notifications: how new signals and their updates arrive (the same choices as /settings
 * in chat); payment messages always come with sound. And the language, as /language. */

import { call } from "../api.js";
import { $, append, clear, h, show } from "../dom.js";
import { switchLanguage } from "../language.js";
import { report } from "../notice.js";
import { t } from "../texts.js";

const LABELS = {
  on: "app.settings.on",
  silent: "app.settings.silent",
  off: "app.settings.off",
};

function group(what, choices, current) {
  const box = $("settings-" + what);
  const legend = box.querySelector("legend");
  clear(box);
  append(box, legend);
  choices.forEach((choice) => {
    const input = h("input", {
      type: "radio",
      name: "settings-" + what,
      value: choice,
      id: "settings-" + what + "-" + choice,
      checked: choice === current,
    });
    input.addEventListener("change", () => save(what, choice));
    append(box, h("label", { class: "choice" }, input, " " + t(LABELS[choice])));
  });
}

/** The languages, each in its own words (so not from the catalogue). */
function languages(choices, current) {
  const select = $("settings-language");
  clear(select);
  choices.forEach((choice) => {
    append(
      select,
      h("option", { value: choice.code, selected: choice.code === current }, choice.name),
    );
  });
}

function render(data) {
  group("signals", data.choices.signals, data.signals);
  group("updates", data.choices.updates, data.updates);
  languages(data.choices.language || [], data.language);
  show($("settings-form"), true);
}

/** Wire the language menu once (the page calls it at start-up). */
export function wireSettings() {
  $("settings-language").addEventListener("change", (event) => {
    chooseLanguage(event.target.value);
  });
}

async function chooseLanguage(language) {
  const status = $("settings-status");
  status.textContent = "";
  try {
    await call("POST", "/settings", { language: language });
  } catch (error) {
    report(error, $("sub-error"));
    return;
  }
  if (await switchLanguage(language)) {
    document.dispatchEvent(new CustomEvent("languagechange"));
    $("settings-status").textContent = t("app.settings.saved");
  }
}

export async function loadSettings() {
  try {
    render(await call("GET", "/settings"));
  } catch (error) {
    report(error, $("sub-error"));
  }
}

async function save(what, choice) {
  const status = $("settings-status");
  status.textContent = "";
  try {
    render(await call("POST", "/settings", { [what]: choice }));
    status.textContent = t("app.settings.saved");
  } catch (error) {
    report(error, $("sub-error"));
  }
}
