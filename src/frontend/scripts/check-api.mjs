// Fails when src/api/schema.d.ts no longer matches docs/api/openapi.json: the client must be
// regenerated (`npm run api`) whenever the API changes, so the two never drift.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const spec = new URL("../../../docs/api/openapi.json", import.meta.url);
const generated = new URL("../src/api/schema.d.ts", import.meta.url);
const fresh = astToString(await openapiTS(spec));
const kept = readFileSync(fileURLToPath(generated), "utf8");
const banner = kept.slice(0, kept.indexOf("export"));
if (banner + fresh !== kept) {
  console.error("src/api/schema.d.ts is stale: run `npm run api` (make api) and commit it.");
  process.exit(1);
}
console.log("API client matches docs/api/openapi.json");
