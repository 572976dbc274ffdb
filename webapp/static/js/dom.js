/* Small DOM helpers. Everything on the page is built with these: no innerHTML, no inline
 * styles (the Content-Security-Policy allows neither). */

const SVG_NS = "http://www.w3.org/2000/svg";
const SCREENS = ["loading", "outside", "fatal", "app"];

export function $(id) {
  return document.getElementById(id);
}

/** An HTML element: attrs (`text` sets textContent, `onclick` adds a listener), children. */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/** The same in the SVG namespace. */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  if (!attrs) return;
  Object.keys(attrs).forEach((key) => {
    const value = attrs[key];
    if (value === null || value === undefined || value === false) return;
    if (key === "text") node.textContent = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else node.setAttribute(key, value === true ? "" : String(value));
  });
}

/** Append nodes, strings and numbers (as text), arrays of them; skip null and false. */
export function append(node, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    child.forEach((c) => append(node, c));
  } else if (typeof child === "string" || typeof child === "number") {
    node.appendChild(document.createTextNode(String(child)));
  } else {
    node.appendChild(child);
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

/** One of the page's screens: loading, outside (Telegram), fatal, app. */
export function showScreen(id) {
  SCREENS.forEach((name) => show($(name), name === id));
}
