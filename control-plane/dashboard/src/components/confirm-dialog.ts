import { h } from '../lib/dom.js';

export interface ConfirmOptions {
  title: string;
  message: string;
  confirmLabel: string;
  /** Styles the confirm button as destructive. */
  danger?: boolean;
  /** Adds a labelled reason textarea; its value is returned. */
  reason?: boolean;
}

/**
 * Every action that changes a device or a rollout goes through this modal: a native <dialog>
 * gives focus trapping and Escape-to-cancel for free, and the cancel button takes initial focus
 * so a stray Enter never confirms.
 * Resolves to null when cancelled, or to the (possibly empty) reason when confirmed.
 */
export function confirmAction(options: ConfirmOptions): Promise<string | null> {
  return new Promise((resolve) => {
    const reason = options.reason ? h('textarea', { attrs: { id: 'confirm-reason', rows: 2, maxlength: 1024 } }) : null;
    const cancel = h('button', { attrs: { type: 'button', value: 'cancel' } }, 'Cancel');
    const confirm = h('button', { class: options.danger ? 'danger' : 'primary', attrs: { type: 'submit', value: 'confirm' } }, options.confirmLabel);
    const dialog = h(
      'dialog',
      { class: 'confirm', attrs: { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-message' } },
      h(
        'form',
        { attrs: { method: 'dialog' } },
        h('h2', { attrs: { id: 'confirm-title' } }, options.title),
        h('p', { attrs: { id: 'confirm-message' } }, options.message),
        reason ? h('div', { class: 'field' }, h('label', { attrs: { for: 'confirm-reason' } }, 'Reason (optional)'), reason) : null,
        h('div', { class: 'actions' }, cancel, confirm),
      ),
    );
    let result: string | null = null;
    cancel.addEventListener('click', () => dialog.close());
    confirm.addEventListener('click', () => {
      result = reason?.value.trim() ?? '';
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
