/* The risk disclaimer before a first payment (docs/consents.md): when a payment route
 * answers 409 consent_required, its text is shown with an Accept button in #consent-slot;
 * Accept records it (POST /consent) and the payment is asked for again. */

import { ApiError, call, describe } from "./api.js";
import { ask } from "./confirm.js";
import { $ } from "./dom.js";
import { t } from "./texts.js";

/** `pay()` as it is, or, after the disclaimer is accepted, once more. Resolves to pay()'s
 * answer, or null when the user backed out; errors other than consent_required throw. */
export async function withConsent(pay) {
  try {
    return await pay();
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "consent_required") throw error;
    const shown = error.detail.disclaimer || {};
    let answer = null;
    const accepted = await ask($("consent-slot"), {
      question: shown.text || "",
      action: t("app.consent.accept"),
      run: async () => {
        try {
          await call("POST", "/consent", { version: shown.version });
          answer = await pay();
          return null;
        } catch (failure) {
          if (failure instanceof ApiError && failure.code === "disclaimer_changed") {
            return { message: t("app.consent.changed") };
          }
          return { message: describe(failure) };
        }
      },
    });
    return accepted ? answer : null;
  }
}
