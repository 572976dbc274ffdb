/* Asking before doing what cannot be undone (posting a signal, reporting its outcome): a
 * small panel in place, under the button that asked, with the question, a price field when
 * the action needs one, Back and the action. Built with DOM calls like everything else. */

import { append, clear, h, show } from "./dom.js";
import { t } from "./texts.js";

let asked = 0;

/** Ask in `slot` (an element kept empty for it). `question` is the text; `action` the
 * confirming button's words; `price` ({label}) adds a price field. On confirm, `run(values)`
 * does the thing: it resolves to null when done (the panel closes), or to {message, field}
 * to show what went wrong (at the price field when field is "price") and stay open.
 * Resolves true once done, false when backed out of. */
export function ask(slot, { question, action, price, run }) {
  asked += 1;
  const id = "confirm-" + asked;
  return new Promise((resolve) => {
    const yes = h("button", { type: "button", class: "btn btn-small", id: id + "-yes" });
    const no = h("button", { type: "button", class: "btn btn-small btn-secondary" });
    yes.textContent = action;
    no.textContent = t("app.confirm.back");
    const problem = h("p", { class: "field-error", id: id + "-error", role: "alert" });
    show(problem, false);
    let input = null;
    const panel = h("div", { class: "confirm", role: "group", "aria-labelledby": id + "-text" });
    append(panel, h("p", { class: "confirm-text", id: id + "-text", text: question }));
    if (price) {
      input = h("input", {
        type: "text",
        class: "input price",
        id: id + "-price",
        inputmode: "decimal",
        maxlength: "32",
        autocomplete: "off",
        "aria-describedby": id + "-error",
      });
      const label = h("label", { class: "field-label", for: id + "-price", text: price.label });
      append(panel, [label, input]);
    }
    append(panel, [problem, h("div", { class: "actions-row" }, no, yes)]);
    append(clear(slot), panel);

    const finish = (value) => {
      clear(slot);
      resolve(value);
    };
    const fail = (result) => {
      problem.textContent = result.message;
      show(problem, true);
      if (input && result.field === "price") {
        input.setAttribute("aria-invalid", "true");
        input.focus();
      }
    };
    no.addEventListener("click", () => finish(false));
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") finish(false);
    });
    if (input) {
      input.addEventListener("input", () => {
        input.removeAttribute("aria-invalid");
        show(problem, false);
      });
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") yes.click();
      });
    }
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      no.disabled = true;
      show(problem, false);
      let result;
      try {
        result = await run({ price: input ? input.value.trim() : null });
      } catch (error) {
        result = { message: String((error && error.message) || error) };
      }
      yes.disabled = false;
      no.disabled = false;
      if (result) fail(result);
      else finish(true);
    });
    (input || yes).focus();
  });
}
