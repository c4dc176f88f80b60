import { api, ApiError, errorText } from '../api';
import { field, notice } from '../components';
import { clear, h } from '../dom';
import type { Page } from '../page';
import { setSession, type Session } from '../session';
import { nextPath } from './signin-next';

interface Methods {
  local: boolean;
  oidc: null | { label: string };
}

/** `/signin`: the local name/password form, and the identity provider's button when configured. */
export const signinPage: Page = (root, ctx) => {
  const status = h('div', { class: 'status' });
  const name = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const oidcSlot = h('div', { class: 'oidc' });
  const form = h('form', { class: 'stack', 'aria-labelledby': 'signin-local' },
    h('h2', { id: 'signin-local' }, 'With a local account'),
    field('User name', name),
    field('Password', password),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(status);
    submit.disabled = true;
    api.post<Session>('/auth/login', { name: name.value.trim(), password: password.value }, { allow401: true }).then(
      (session) => {
        setSession(session);
        ctx.navigate(session.user.must_change_password ? '/password' : nextPath(location.search));
      },
      (err: unknown) => {
        submit.disabled = false;
        password.value = '';
        let message = errorText(err);
        if (err instanceof ApiError && err.status === 401) message = 'Wrong user name or password.';
        if (err instanceof ApiError && err.status === 429) message = 'Too many failed attempts. Wait a few minutes and try again.';
        status.append(notice('error', message));
        password.focus();
      },
    );
  });
  root.append(h('h1', null, 'Sign in to XIMP'), status, oidcSlot, form);
  api.get<Methods>('/auth/methods', { allow401: true }).then(
    (methods) => {
      if (methods.oidc) {
        oidcSlot.append(
          h('p', null, h('a', { class: 'button', href: '/auth/oidc/start' }, methods.oidc.label)),
          h('p', { class: 'muted' }, 'or'),
        );
      }
    },
    () => undefined, // Without the methods answer the local form still works.
  );
  name.focus();
};
