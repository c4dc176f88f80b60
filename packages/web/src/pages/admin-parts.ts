import { errorText } from '../api.js';
import { append, clear, h, type Child } from '../dom.js';
import { copyButton, field, notice } from '../components.js';

/**
 * The pieces the alerts and admin pages share: an error place beside each form, a form's submit
 * with its button held while the call runs, a section that loads, and a secret shown once.
 */

export interface ErrorSlot {
  el: HTMLElement;
  show(err: unknown): void;
  clear(): void;
}

/** Where a form's error (the API's message) shows, right beside the form. */
export function errorSlot(): ErrorSlot {
  const el = h('div', { class: 'form-error' });
  return {
    el,
    show: (err) => {
      clear(el);
      el.append(notice('error', errorText(err)));
    },
    clear: () => clear(el),
  };
}

/**
 * Submits `form` through `action`: the browser's own checks first (required, patterns), the submit
 * button disabled while the call runs, any failure shown in `slot`.
 */
export function onSubmit(form: HTMLFormElement, slot: ErrorSlot, action: () => Promise<void>): void {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const buttons = [...form.querySelectorAll<HTMLButtonElement>('button[type="submit"]')];
    buttons.forEach((b) => (b.disabled = true));
    slot.clear();
    action()
      .catch((err: unknown) => slot.show(err))
      .finally(() => buttons.forEach((b) => (b.disabled = false)));
  });
}

/** Runs a button's action with the button held; a failure goes to `slot`. */
export function onClickAction(button: HTMLButtonElement, slot: ErrorSlot, action: () => Promise<void>): void {
  button.addEventListener('click', () => {
    button.disabled = true;
    slot.clear();
    action()
      .catch((err: unknown) => slot.show(err))
      .finally(() => (button.disabled = false));
  });
}

/**
 * Fills `container` with what `load` draws, "Loading…" meanwhile; a failure shows its message.
 * Resolves once drawn, never rejects.
 */
export async function loadInto(container: HTMLElement, load: () => Promise<Child | Child[]>): Promise<void> {
  clear(container);
  container.setAttribute('aria-busy', 'true');
  container.append(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const content = await load();
    clear(container);
    append(container, [content]);
  } catch (err) {
    clear(container);
    container.append(notice('error', errorText(err)));
  } finally {
    container.removeAttribute('aria-busy');
  }
}

/**
 * A secret the collector shows once (token, client secret, one-time password): read-only field,
 * copy button, and the warning that it cannot be shown again. Focus goes to the field.
 */
export function shownOnce(heading: string, label: string, value: string, advice: string): HTMLElement {
  const input = h('input', { type: 'text', readonly: true, class: 'mono secret-once', value, spellcheck: 'false', autocomplete: 'off' });
  input.addEventListener('focus', () => input.select());
  const box = h(
    'section',
    { class: 'notice notice-success shown-once' },
    h('h3', null, heading),
    h('p', { class: 'warning' }, h('strong', null, 'Shown once: '), 'copy it now. It is not stored in a form that can be shown again. ', advice),
    field(label, input),
    copyButton(value),
  );
  queueMicrotask(() => input.focus());
  return box;
}

/** A small yes/no cell. */
export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

/** A `<select>` of `options` with `selected` chosen (labels default to the values). */
export function select(name: string, options: readonly (string | [string, string])[], selected: string, attrs: Record<string, string | boolean> = {}): HTMLSelectElement {
  const el = h('select', { name, ...attrs });
  for (const o of options) {
    const [value, label] = typeof o === 'string' ? [o, o] : o;
    el.append(h('option', { value, selected: value === selected }, label));
  }
  el.value = selected;
  return el;
}
