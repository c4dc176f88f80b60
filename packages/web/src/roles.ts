/**
 * The collector's role → permission table (SPEC §10), bundled into the dashboard from the one
 * source, used only to hide what a role may not do; the server refuses anyway.
 */
import { can, isRole, type Permission } from '../../collector/src/auth/roles';

export { PERMISSIONS, ROLES, type Permission, type Role } from '../../collector/src/auth/roles';

/** True when `role` (as the session reported it) may do `permission`; unknown roles fail closed. */
export function roleCan(role: string, permission: Permission): boolean {
  return isRole(role) && can(role, permission);
}
