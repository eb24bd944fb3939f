// Mounting components in tests: the options that give them a Backend, an I18n
// and a pinned clock (as main.ts gives the app its own), attached to the page.

import type { MountingOptions } from "@vue/test-utils";
import { type Deps, fieldloop } from "../deps";

/** `global` and `attachTo` options for @vue/test-utils' `mount`, providing `deps`. */
export function withDeps(deps: Deps): Pick<MountingOptions<object>, "global" | "attachTo"> {
  const host = document.createElement("div");
  document.body.replaceChildren(host);
  return { attachTo: host, global: { plugins: [[fieldloop, deps]] } };
}
