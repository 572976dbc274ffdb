/* The page's words, from the same catalogue as the bot's chat texts
 * (bot/texts/locales/<language>/LC_MESSAGES/messages.po, ids under app.*), fetched
 * once at boot from GET /api/v1/texts. The catalogue's texts are plain text with `{name}`
 * placeholders, filled here; `{{` and `}}` are literal braces, as in Python's str.format.
 * A plural text arrives as {"one": ..., "other": ...}.
 *
 * Placeholders are filled with text (String(value), or a DOM node for rich()), and what
 * this module returns is only ever set as textContent or appended as text nodes: a value
 * is never parsed as markup. The one markup a text may carry is `code` and **bold**, and
 * only rich() (and so the page's data-text elements) renders it, as DOM elements.
 *
 * index.html has no words of its own: an element names its text's id in data-text (for
 * its content) or in data-text-aria-label / data-text-placeholder / data-text-title (for
 * that attribute), and applyTexts() fills them.
 */

import { append, clear, h } from "./dom.js";
import { setLocale } from "./format.js";

// --- fallback: begin ---
// The only English the front end carries, for the one case without a catalogue: the texts
// themselves could not be fetched. Shown on the fatal screen only; the same words as the
// catalogue's (tests/project/test_texts.py holds them to it).
const FALLBACK = {
  "app.fatal.title": "Something went wrong",
  "app.error.network":
    "Network error: the server could not be reached. Check your connection and try again.",
  "app.action.retry": "Try again",
};
// --- fallback: end ---

const ATTRIBUTES = ["aria-label", "placeholder", "title"];
const FIELD = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const MARKUP = /`([^`]+)`|\*\*([^*]+)\*\*/g;

let texts = {};
let language = "";
let plurals = new Intl.PluralRules("en");

function useLocale(locale) {
  let known = "en";
  try {
    plurals = new Intl.PluralRules(locale);
    known = locale;
  } catch (error) {
    plurals = new Intl.PluralRules("en"); // a tag this browser does not know
  }
  setLocale(known);
  document.documentElement.lang = known;
}

/** Take the answer of GET /api/v1/texts:
 * {"locale": "pt-BR", "language": "pt_BR", "texts": {id: text}}. */
export function useTexts(data) {
  if (!data || typeof data.texts !== "object" || data.texts === null) {
    throw new Error("the texts are missing from the answer");
  }
  texts = data.texts;
  language = typeof data.language === "string" ? data.language : "";
  useLocale(typeof data.locale === "string" && data.locale ? data.locale : "en");
}

/** The catalogue the page shows ("pt_BR"), "" before any. */
export function currentLanguage() {
  return language;
}

/** No catalogue: just enough words for the fatal screen. */
export function useFallback() {
  texts = FALLBACK;
  language = "";
  useLocale("en");
}

function template(id, count) {
  const entry = texts[id];
  if (typeof entry === "string") return entry;
  if (entry && typeof entry === "object" && count !== undefined) {
    const form = entry[plurals.select(count)];
    if (typeof form === "string") return form;
    if (typeof entry.other === "string") return entry.other;
  }
  console.error("text " + id + " is missing from the catalogue");
  return id;
}

/** The template's pieces: strings, and the values of `params` in place of {name}. */
function pieces(text, params, id) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(FIELD)) {
    out.push(text.slice(last, match.index));
    last = match.index + match[0].length;
    const name = match[1];
    if (match[0] === "{{") out.push("{");
    else if (match[0] === "}}") out.push("}");
    else if (Object.prototype.hasOwnProperty.call(params, name)) {
      const value = params[name];
      out.push(value instanceof Node ? value : String(value));
    } else {
      console.error("text " + id + ": nothing fills {" + name + "}");
      out.push(match[0]);
    }
  }
  out.push(text.slice(last));
  return out.filter((piece) => piece !== "");
}

function joined(parts) {
  return parts.map((part) => (typeof part === "string" ? part : part.textContent)).join("");
}

/** The text `id` with its placeholders filled: a string, for textContent or an attribute. */
export function t(id, params) {
  return joined(pieces(template(id), params || {}, id));
}

/** The plural text `id` for `count` (which also fills {count}). */
export function tn(id, count, params) {
  return joined(pieces(template(id, count), { count: count, ...params }, id));
}

/** The text `id` as nodes to append: `code` and **bold** become elements; a value in
 * `params` may be a node, placed as it is. */
export function rich(id, params) {
  const text = template(id);
  const values = params || {};
  const out = [];
  let last = 0;
  for (const match of text.matchAll(MARKUP)) {
    out.push(...pieces(text.slice(last, match.index), values, id));
    last = match.index + match[0].length;
    const tag = match[1] !== undefined ? "code" : "strong";
    out.push(h(tag, null, pieces(match[1] !== undefined ? match[1] : match[2], values, id)));
  }
  out.push(...pieces(text.slice(last), values, id));
  return out;
}

const SIDES = { long: "app.side.long", short: "app.side.short" };

/** A signal's side in words ("long" stays as it is where the catalogue says so). */
export function sideLabel(side) {
  return Object.prototype.hasOwnProperty.call(SIDES, side) ? t(SIDES[side]) : String(side);
}

/** Fill the data-text elements (and data-text-<attribute> attributes) under `root`. */
export function applyTexts(root) {
  root.querySelectorAll("[data-text]").forEach((node) => {
    append(clear(node), rich(node.getAttribute("data-text")));
  });
  ATTRIBUTES.forEach((attribute) => {
    root.querySelectorAll("[data-text-" + attribute + "]").forEach((node) => {
      node.setAttribute(attribute, t(node.getAttribute("data-text-" + attribute)));
    });
  });
}
