/**
 * The admin page's script, built from web/admin/ by dev/build-admin.ts into script.bundle.js (not checked in; the
 * npm scripts and the test setup build it). Browser JavaScript, inlined by routes/admin-page.tsx.
 */
export declare const ADMIN_SCRIPT: string;
