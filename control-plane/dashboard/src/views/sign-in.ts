import { ApiError } from '../api/client.js';
import type { Session } from '../api/session.js';
import { errorNotice } from '../components/widgets.js';
import { field, h, replaceChildren } from '../lib/dom.js';

export interface SignInOptions {
  root: HTMLElement;
  session: Session;
  /** Checks a token against the API; resolves when it is accepted. */
  verify: () => Promise<unknown>;
  onSignedIn: () => void;
}

/** The sign-in page: one labelled token field. The token is checked against the API before it is kept. */
export function renderSignIn(options: SignInOptions): void {
  const input = h('input', { attrs: { type: 'password', name: 'token', autocomplete: 'current-password', required: true, spellcheck: 'false' } });
  const message = h('div', { attrs: { 'aria-live': 'polite' } });
  const submit = h('button', { class: 'primary', attrs: { type: 'submit' } }, 'Sign in');
  const form = h(
    'form',
    { class: 'sign-in card', attrs: { 'aria-labelledby': 'sign-in-title' } },
    h('h1', { attrs: { id: 'sign-in-title' } }, 'Sign in to edgefleet'),
    h('p', { class: 'muted' }, 'Paste an API token (create one with ', h('code', {}, 'edgefleet token create'), ').'),
    field('API token', input),
    message,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    submit.disabled = true;
    options.session.signIn(token);
    options.verify().then(
      () => options.onSignedIn(),
      (error: unknown) => {
        options.session.signOut();
        submit.disabled = false;
        const rejected = error instanceof ApiError && error.status === 401;
        replaceChildren(message, rejected ? h('div', { class: 'notice error', attrs: { role: 'alert' } }, 'That token was not accepted.') : errorNotice(error));
        input.focus();
        input.select();
      },
    );
  });
  replaceChildren(options.root, h('div', { class: 'sign-in-wrap' }, form));
  document.title = 'Sign in · edgefleet';
  input.focus();
}
