import { buildAdminScript } from "../../dev/build-admin.js";

/** Builds the admin page's script from web/admin/ before any test serves the page. */
export default async function setup(): Promise<void> {
  await buildAdminScript();
}
