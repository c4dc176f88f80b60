import { api, errorText } from '../api';
import { field, notice } from '../components';
import { clear, h } from '../dom';
import type { Page } from '../page';
import { setSession, type Session } from '../session';
import { MIN_PASSWORD_LENGTH, passwordProblem } from './password-rule';

/** `/password`: change the local password; forced while the account must change it. */
export const passwordPage: Page = (root, ctx) => {
  const { user } = ctx.session;
  root.append(h('h1', null, 'Change password'));
  if (user.method !== 'local') {
    root.append(h('p', null, 'Your password is managed by your identity provider.'));
    return;
  }
  const status = h('div', { class: 'status' });
  if (user.must_change_password) {
    status.append(notice('info', 'Choose a new password before you continue: the one you signed in with was for one use only.'));
  }
  const current = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: MIN_PASSWORD_LENGTH });
  const repeat = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: MIN_PASSWORD_LENGTH });
  const submit = h('button', { type: 'submit' }, 'Change password');
  const form = h('form', { class: 'stack' },
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: user.name, hidden: true, readonly: true, tabindex: '-1', 'aria-hidden': 'true' }),
    field('Current password', current),
    field('New password', next, `At least ${MIN_PASSWORD_LENGTH} characters.`),
    field('New password again', repeat),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(status);
    const problem = passwordProblem(current.value, next.value, repeat.value);
    if (problem !== null) {
      status.append(notice('error', problem));
      return;
    }
    submit.disabled = true;
    api.post<Session>('/auth/password', { current_password: current.value, new_password: next.value }).then(
      (session) => {
        setSession(session);
        ctx.navigate('/fleet');
      },
      (err: unknown) => {
        submit.disabled = false;
        status.append(notice('error', errorText(err)));
      },
    );
  });
  root.append(status, form);
  current.focus();
};
