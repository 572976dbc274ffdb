/* Numbers and dates as the page shows them, in the language of its texts (texts.js sets
 * it). Decimals arrive as strings ("65000"); a signal's own prices are shown as posted. */

const DASH = "\u2014";

let locale = "en";
const numberFormats = new Map();

export function setLocale(tag) {
  locale = tag;
  numberFormats.clear();
}

/** `n` with exactly `digits` decimals, in the page's language (1 234,50). */
export function fixed(n, digits) {
  let format = numberFormats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat(locale, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    numberFormats.set(digits, format);
  }
  return format.format(n);
}

export function num(value) {
  if (value === null || value === undefined || value === "") return null;
  const n = parseFloat(value);
  return isFinite(n) ? n : null;
}

export function signed(n, digits) {
  const text = fixed(Math.abs(n), digits);
  if (n > 0) return "+" + text;
  if (n < 0) return "\u2212" + text;
  return text;
}

export function fmtR(value) {
  const n = num(value);
  return n === null ? DASH : signed(n, 2) + "R";
}

export function fmtPct(value) {
  const n = num(value);
  return n === null ? DASH : signed(n, 2) + "%";
}

export function fmtRate(value) {
  const n = num(value);
  if (n === null) return DASH;
  return fixed(n, Number.isInteger(Math.round(n * 10) / 10) ? 0 : 1) + "%";
}

/** A signal's result in R and in per cent: "+2.00R (+20.00%)". */
export function fmtResult(signal) {
  return fmtR(signal.result_r) + " (" + fmtPct(signal.result_pct) + ")";
}

export function resultClass(value) {
  const n = num(value);
  if (n === null || n === 0) return "result-flat";
  return n > 0 ? "result-pos" : "result-neg";
}

export function fmtDate(iso) {
  if (!iso) return DASH;
  const date = new Date(iso);
  if (isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(locale, { day: "numeric", month: "short", year: "numeric" });
}

export function fmtDateTime(iso) {
  if (!iso) return DASH;
  const date = new Date(iso);
  if (isNaN(date.getTime())) return iso;
  return date.toLocaleString(locale, {
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function entryText(signal) {
  if (signal.entry_low && signal.entry_high && signal.entry_low !== signal.entry_high) {
    return signal.entry_low + "\u2013" + signal.entry_high;
  }
  return signal.entry_low || signal.entry_high || DASH;
}

/** A code word for people: "past_due" -> "Past due". */
export function humanize(text) {
  const words = String(text).replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A fraction (0.125) as the page's language writes a share: 12.5 %. */
export function fmtShare(fraction) {
  if (fraction === null || fraction === undefined) return DASH;
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(
    fraction,
  );
}

/** A day ("2026-11-02") or a month ("2026-11") as the language writes it, short (UTC). */
export function fmtPeriod(iso) {
  const month = iso.length === 7;
  const date = new Date((month ? iso + "-01" : iso) + "T00:00:00Z");
  if (isNaN(date.getTime())) return iso;
  const options = month ? { month: "short", year: "2-digit" } : { day: "numeric", month: "short" };
  return date.toLocaleDateString(locale, { timeZone: "UTC", ...options });
}

export { DASH };
