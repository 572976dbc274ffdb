/* Risk/reward of a take-profit, as the track record will count it (bot/signals/results.py):
 * R is the move from the entry (the midpoint of a zone) to the target, in the signal's
 * direction, over the risk, the distance from the entry to the stop. On the right side of
 * the entry that is |target - entry| / |entry - stop|; a target on the wrong side comes out
 * negative, as its result would.
 *
 * Exact decimal arithmetic (BigInt), not floats: prices are the syntax's decimals (at most
 * 12 digits before the point and 10 after, bot/signals/syntax.py PRICE_PATTERN). The value
 * is rounded as the track record stores it (4 places, half away from zero: Decimal's
 * ROUND_HALF_UP), then to the 2 places the page shows, the same way. */

const PRICE = /^[0-9]{1,12}(\.[0-9]{1,10})?$/;
const SCALE = 10;
const STORED = 4;
const SHOWN = 2;

/** A price as an integer count of 10^-SCALE, or null when it is not a price. */
function units(text) {
  if (typeof text !== "string" || !PRICE.test(text.trim())) return null;
  const [whole, fraction = ""] = text.trim().split(".");
  return BigInt(whole + fraction.padEnd(SCALE, "0"));
}

/** numerator / denominator (denominator > 0) to `places` decimals, half away from zero,
 * as an integer count of 10^-places. */
function divide(numerator, denominator, places) {
  const scaled = numerator * 10n ** BigInt(places);
  const negative = scaled < 0n;
  const size = negative ? -scaled : scaled;
  let quotient = size / denominator;
  if ((size % denominator) * 2n >= denominator) quotient += 1n;
  return negative ? -quotient : quotient;
}

/** An integer count of 10^-places as decimal text: 13333n, 4 -> "1.3333". */
function decimalText(count, places) {
  const negative = count < 0n;
  const digits = (negative ? -count : count).toString().padStart(places + 1, "0");
  const text = digits.slice(0, -places) + "." + digits.slice(-places);
  return (negative ? "-" : "") + text;
}

/** The R of `target` for a signal with `side`, `entries` (one price, or a zone's two) and
 * `stop`, as decimal text with 2 places ("1.33"); null while a price is missing or not a
 * price, or the stop sits on the entry. */
export function rewardToRisk(side, entries, stop, target) {
  const ends = entries.map(units);
  const stopUnits = units(stop);
  const targetUnits = units(target);
  if (!ends.length || ends.some((e) => e === null) || stopUnits === null) return null;
  if (targetUnits === null) return null;
  const twiceEntry = ends.length > 1 ? ends[0] + ends[1] : ends[0] * 2n;
  const twiceTarget = targetUnits * 2n;
  const move = side === "short" ? twiceEntry - twiceTarget : twiceTarget - twiceEntry;
  const distance = twiceEntry - stopUnits * 2n;
  const risk = distance < 0n ? -distance : distance;
  if (risk === 0n) return null;
  const stored = divide(move, risk, STORED);
  return decimalText(divide(stored, 10n ** BigInt(STORED), SHOWN), SHOWN);
}
