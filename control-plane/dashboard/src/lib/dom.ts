/**
 * A tiny hyperscript helper: the dashboard builds plain DOM nodes, so there is no framework
 * runtime to ship and every element is a real, inspectable node that browser tests can find by
 * role and label.
 */
export type Child = Node | string | number | false | null | undefined | Child[];

type EventHandlers = { [K in keyof HTMLElementEventMap as `on${K}`]?: (event: HTMLElementEventMap[K]) => void };

export type Props = EventHandlers & {
  class?: string;
  /** Attributes set verbatim (aria-*, data-*, role, for, type...). `false`/`null` omits the attribute. */
  attrs?: Record<string, string | number | boolean | null | undefined>;
  text?: string;
};

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value as EventListener);
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces every child of `parent` (keeps the parent node, so focus and listeners on it survive). */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A labelled form control: `<label for=id>` + the control, so screen readers and tests find it by its label. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLDivElement {
  if (!control.id) control.id = `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${Math.random().toString(36).slice(2, 7)}`;
  const hintEl = hint ? h('small', { class: 'hint', attrs: { id: `${control.id}-hint` } }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { attrs: { for: control.id } }, label), control, hintEl);
}

export function select(options: { value: string; label: string }[], value = ''): HTMLSelectElement {
  const el = h('select', {}, ...options.map((o) => h('option', { attrs: { value: o.value } }, o.label)));
  el.value = value;
  return el;
}
