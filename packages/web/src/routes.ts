import type { Route } from './router';
import { signinPage } from './pages/signin';
import { passwordPage } from './pages/password';
import { fleetPage } from './pages/fleet';
import { nodePage } from './pages/node';
import { dashboardsPage } from './pages/dashboards';
import { dashboardPage } from './pages/dashboard';
import { alertsPage } from './pages/alerts';
import { adminTokensPage } from './pages/admin-tokens';
import { adminClientsPage } from './pages/admin-clients';
import { adminUsersPage } from './pages/admin-users';
import { adminCertificatesPage } from './pages/admin-certificates';
import { adminRetentionPage } from './pages/admin-retention';
import { adminAuditPage } from './pages/admin-audit';

/** Every page of the app, in nav order; the nav shows an entry only when the role may open it. */
export const ROUTES: readonly Route[] = [
  { path: '/signin', page: signinPage, title: 'Sign in', public: true },
  { path: '/password', page: passwordPage, title: 'Change password' },
  { path: '/fleet', page: fleetPage, title: 'Fleet', nav: 'Fleet', permission: 'agents:read' },
  { path: '/nodes/{node}', page: nodePage, title: 'Node', permission: 'metrics:read' },
  { path: '/dashboards', page: dashboardsPage, title: 'Dashboards', nav: 'Dashboards', permission: 'dashboards:read' },
  { path: '/dashboards/{id}', page: dashboardPage, title: 'Dashboard', permission: 'dashboards:read' },
  { path: '/alerts', page: alertsPage, title: 'Alerts', nav: 'Alerts', permission: 'alerts:read' },
  { path: '/admin/tokens', page: adminTokensPage, title: 'Agent tokens', nav: 'Tokens', permission: 'agent_tokens:manage' },
  { path: '/admin/clients', page: adminClientsPage, title: 'API clients', nav: 'Clients', permission: 'clients:manage' },
  { path: '/admin/users', page: adminUsersPage, title: 'Users', nav: 'Users', permission: 'users:manage' },
  { path: '/admin/certificates', page: adminCertificatesPage, title: 'Certificates', nav: 'Certificates', permission: 'tls:read' },
  { path: '/admin/retention', page: adminRetentionPage, title: 'Retention', nav: 'Retention', permission: 'retention:write' },
  { path: '/admin/audit', page: adminAuditPage, title: 'Audit log', nav: 'Audit', permission: 'audit:read' },
];
