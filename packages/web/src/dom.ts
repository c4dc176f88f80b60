/**
 * Building DOM without innerHTML: every string becomes a text node, so data from the API can
 * never turn into markup. `style` is refused: the CSP forbids style attributes (use a class).
 */
export type Child = Node | string | number | null | undefined | false;
export type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs | null, ...children: (Child | Child[])[]): HTMLElement;
export function h(tag: string, attrs?: Attrs | null, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) setAttr(el, name, value);
  append(el, children);
  return el;
}

function setAttr(el: HTMLElement, name: string, value: AttrValue): void {
  if (name === 'style') throw new Error('h(): style attributes are refused by the CSP; use a class');
  if (value === null || value === undefined || value === false) return;
  if (typeof value === 'function') {
    if (!name.startsWith('on')) throw new Error(`h(): ${name} is not an event handler name`);
    el.addEventListener(name.slice(2).toLowerCase(), value);
    return;
  }
  if (name === 'class') el.className = String(value);
  else if (name === 'value' && 'value' in el) (el as HTMLInputElement).value = String(value);
  else if (name === 'checked' && el instanceof HTMLInputElement) el.checked = Boolean(value);
  else el.setAttribute(name, value === true ? '' : String(value));
}

/** Appends children (nested arrays flattened; null, undefined and false skipped). */
export function append(el: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(child instanceof Node ? child : text(String(child)));
  }
}

export function text(s: string): Text {
  return document.createTextNode(s);
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}
