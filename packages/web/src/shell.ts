import { h } from './dom';
import type { Route } from './router';
import { can, signOut, type Session } from './session';

export interface ShellParts {
  /** The element pages draw into (`<main id="main">`). */
  main: HTMLElement;
}

/**
 * The frame around every page: a skip link, the nav with only the links the role may use, the
 * signed-in user with password change and sign-out, and the main region.
 */
export function drawShell(root: HTMLElement, routes: readonly Route[], session: Session | null, currentPath: string, navigate: (path: string) => void): ShellParts {
  const main = h('main', { id: 'main', tabindex: '-1' });
  const skip = h('a', { class: 'skip-link', href: '#main', onclick: (e: Event) => {
    e.preventDefault();
    main.focus();
  } }, 'Skip to content');
  if (session === null) {
    root.append(skip, h('header', { class: 'topbar' }, h('span', { class: 'brand' }, 'XIMP')), main);
    return { main };
  }
  const links = session.user.must_change_password
    ? []
    : routes.filter((r) => r.nav !== undefined && (r.permission === undefined || can(r.permission)));
  const nav = h(
    'nav',
    { 'aria-label': 'Main' },
    h('ul', null, links.map((r) => h('li', null, h('a', {
      href: r.path,
      'aria-current': currentPath === r.path || currentPath.startsWith(`${r.path}/`) ? 'page' : null,
    }, r.nav ?? r.title)))),
  );
  const signOutButton = h('button', {
    type: 'button',
    class: 'secondary',
    onclick: () => {
      signOut().then(
        () => navigate('/signin'),
        () => navigate('/signin'),
      );
    },
  }, 'Sign out');
  const user = h(
    'div',
    { class: 'user' },
    h('span', { class: 'user-name' }, session.user.name, ' ', h('span', { class: 'role' }, `(${session.user.role.replace('monitoring-', '')})`)),
    session.user.method === 'local' ? h('a', { href: '/password' }, 'Change password') : null,
    signOutButton,
  );
  root.append(skip, h('header', { class: 'topbar' }, h('a', { class: 'brand', href: '/fleet' }, 'XIMP'), nav, user), main);
  return { main };
}
