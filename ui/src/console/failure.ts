// The words for a failed request on the plan and draw pages: the page's own
// sentence for a code when it has one (a 409 `console.state` means something
// different when entering entropy than when drafting), else the console's
// (`ConsoleContext.errorText`: its words for the code, or the server's
// message); the server's own message follows on a second line when it says
// more (it names the plan, the field, who fixed the plan).

import { ConsoleApiError } from "./api/http";
import type { ConsoleContext } from "./context";
import type { MessageKey } from "./i18n";

/** The page's sentences by error code. */
export type OwnWords = Readonly<Partial<Record<string, MessageKey>>>;

export function failureText(context: Pick<ConsoleContext, "errorText" | "i18n">, error: unknown, own: OwnWords = {}): string {
  const key = error instanceof ConsoleApiError ? own[error.code] : undefined;
  const text = key === undefined ? context.errorText(error) : context.i18n.t(key);
  if (!(error instanceof ConsoleApiError) || error.message === "" || error.message === text) return text;
  return `${text}\n${error.message}`;
}
