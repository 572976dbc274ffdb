/* Notifications: how new signals and their updates arrive (the same choices as /settings
 * in chat); payment messages always come with sound. */

import { call } from "../api.js";
import { $, append, clear, h, show } from "../dom.js";
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

function render(data) {
  group("signals", data.choices.signals, data.signals);
  group("updates", data.choices.updates, data.updates);
  show($("settings-form"), true);
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
