import { adminPage, health } from "../src/http/routes/admin-page.js";
import { httpFunction, lambdaSettings } from "../src/app/lambda.js";

/** GET /: the admin page (its script calls info, metrics, delete and clear, each served by its own function); GET /healthz. */
export const handler = httpFunction("admin", () => ({ adminPage: adminPage(lambdaSettings()), health: health() }));
