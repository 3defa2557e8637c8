/**
 * `deno task db:migrate` applies every pending migration; `deno task db:reset` drops the database,
 * recreates it and migrates it again. Both read DATABASE_URL (default: the local kalency database).
 */
import { DEFAULT_DATABASE_URL, maskUrlPassword } from "@lib/config";
import { runDbmate } from "@lib/db";

async function main(): Promise<number> {
  const command = Deno.args[0];
  const url = Deno.env.get("DATABASE_URL") ?? DEFAULT_DATABASE_URL;
  const shown = maskUrlPassword(url);
  try {
    if (command === "migrate") {
      await runDbmate(url, ["create"]).catch(() => {});
      console.log((await runDbmate(url, ["up"])).trim() || "nothing to apply");
    } else if (command === "reset") {
      await runDbmate(url, ["drop"]).catch(() => {});
      await runDbmate(url, ["create"]);
      console.log((await runDbmate(url, ["up"])).trim());
    } else if (command === "status") {
      console.log((await runDbmate(url, ["status"])).trim());
    } else {
      console.error(
        "usage: deno run -A tools/db.ts migrate|reset|status   (DATABASE_URL selects the database)",
      );
      return 2;
    }
    return 0;
  } catch (e) {
    console.error(`Database ${command} failed for ${shown}: ${(e as Error).message}`);
    return 1;
  }
}

Deno.exit(await main());
