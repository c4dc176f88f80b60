import { errorText } from './api';
import { clear, h } from './dom';
import { findRoute } from './router';
import { ROUTES } from './routes';
import { can, currentSession, loadSession, type Session } from './session';
import { drawShell } from './shell';

/** What the sign-in page gets as its context's session: a user who may do nothing. */
const ANONYMOUS: Session = {
  user: { name: '', role: '', nodes: null, method: 'local', must_change_password: false },
  csrf_token: '',
  idle_expires_at: '',
  expires_at: '',
};

const root = document.getElementById('app') ?? document.body;
let leave: (() => void) | null = null;
let firstDraw = true;

function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  draw();
}

/** Where the URL leads given the session: a redirect, or null to draw the page. */
function redirectFor(path: string, session: Session | null, isPublic: boolean): string | null {
  if (path === '/') return '/fleet';
  if (session === null) return isPublic ? null : `/signin?next=${encodeURIComponent(path + location.search)}`;
  if (session.user.must_change_password && path !== '/password') return '/password';
  if (path === '/signin') return '/fleet';
  return null;
}

function draw(): void {
  if (leave) {
    const cleanup = leave;
    leave = null;
    try {
      cleanup();
    } catch {
      // A page that fails to clean up must not stop the next one from drawing.
    }
  }
  const path = location.pathname;
  const session = currentSession();
  const found = findRoute(ROUTES, path);
  const target = redirectFor(path, session, found?.route.public === true);
  if (target !== null) {
    navigate(target, true);
    return;
  }
  clear(root);
  const { main } = drawShell(root, ROUTES, session, path, navigate);
  if (!found) {
    document.title = 'Not found — XIMP';
    main.append(h('h1', null, 'Page not found'), h('p', null, 'There is no page at this address. ', h('a', { href: '/fleet' }, 'Go to the fleet')));
  } else if (found.route.permission !== undefined && !can(found.route.permission)) {
    document.title = 'Not allowed — XIMP';
    main.append(h('h1', null, 'Not allowed'), h('p', null, `Your role (${session?.user.role ?? 'none'}) may not open this page.`));
  } else {
    document.title = `${found.route.title} — XIMP`;
    try {
      const cleanup = found.route.page(main, { session: session ?? ANONYMOUS, params: found.params, navigate: (p) => navigate(p) });
      if (typeof cleanup === 'function') leave = cleanup;
    } catch (err) {
      // A page that fails to draw says so instead of leaving an empty screen.
      main.append(h('p', { role: 'alert' }, `This page failed to draw: ${errorText(err)}`));
    }
  }
  // After a navigation, move focus to the new content so screen readers announce it.
  if (!firstDraw) main.focus();
  firstDraw = false;
}

/** Same-origin links move within the app without a reload (modifier keys keep the browser's way). */
function onClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/auth/') || url.pathname.startsWith('/api/')) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
}

async function start(): Promise<void> {
  document.addEventListener('click', onClick);
  window.addEventListener('popstate', draw);
  try {
    await loadSession();
  } catch (err) {
    clear(root);
    root.append(h('main', { id: 'main' }, h('h1', null, 'XIMP'), h('p', { role: 'alert' }, `The collector could not be reached: ${errorText(err)}`)));
    return;
  }
  draw();
}

void start();
