import { h, type Attrs, type Child } from './dom';

export interface Column<R> {
  /** The header text. */
  label: string;
  /** What the row shows in this column. */
  cell: (row: R) => Child | Child[];
  /** Extra class on the header and the cells (e.g. "num" to align right). */
  class?: string;
  /** Extra attributes of the row's cell (e.g. a stable `data-*` for tests and updates). */
  cellAttrs?: (row: R) => Attrs;
}

export interface TableOptions {
  /** Shown instead of the table when there are no rows: text or a whole element. */
  empty?: string | Node;
  /** The table's caption (visually hidden when `captionHidden`). */
  caption?: string;
  captionHidden?: boolean;
}

/** A data table with a header row; `empty` replaces it when `rows` is empty. */
export function table<R>(columns: Column<R>[], rows: R[], options: TableOptions = {}): HTMLElement {
  if (rows.length === 0 && options.empty !== undefined) {
    return typeof options.empty === 'string' ? h('p', { class: 'empty' }, options.empty) : options.empty as HTMLElement;
  }
  // The wrapper scrolls on narrow screens: focusable, so keyboard users can scroll it too.
  return h(
    'div',
    { class: 'table-wrap', tabindex: 0 },
    h(
      'table',
      null,
      options.caption ? h('caption', { class: options.captionHidden ? 'visually-hidden' : null }, options.caption) : null,
      h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', null, rows.map((r) => tableRow(columns, r))),
    ),
  );
}

/** One body row for `columns` (pages that update rows in place build them with this). */
export function tableRow<R>(columns: Column<R>[], row: R): HTMLTableRowElement {
  return h('tr', null, columns.map((c) => h('td', { ...c.cellAttrs?.(row), class: c.class }, c.cell(row))));
}

/**
 * Asks a yes/no question in a modal <dialog> (focus trapped by the browser, Escape cancels);
 * resolves true only for the confirm button.
 */
export function confirmDialog(message: string, confirmLabel = 'Confirm'): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-message' });
    const done = (answer: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.append(
      h('p', { id: 'confirm-message' }, message),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => done(false) }, 'Cancel'),
        h('button', { type: 'button', class: 'danger', onclick: () => done(true) }, confirmLabel),
      ),
    );
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export type NoticeKind = 'info' | 'success' | 'error';

/** A message box; errors are announced at once (role=alert), others politely (role=status). */
export function notice(kind: NoticeKind, message: string | Node): HTMLElement {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
}

let fieldCounter = 0;

/** A label bound to its control (the control gets an id when it has none). */
export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  if (!input.id) input.id = `f${++fieldCounter}`;
  const hintEl = hint ? h('small', { id: `${input.id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl);
}

/** A button that copies `value` to the clipboard and says so. */
export function copyButton(value: string, label = 'Copy'): HTMLElement {
  const status = h('span', { class: 'copy-status', role: 'status' });
  const button = h('button', {
    type: 'button',
    class: 'secondary',
    onclick: () => {
      navigator.clipboard.writeText(value).then(
        () => (status.textContent = 'Copied'),
        () => (status.textContent = 'Copy failed: select the text and copy it'),
      );
    },
  }, label);
  return h('span', { class: 'copy' }, button, status);
}
