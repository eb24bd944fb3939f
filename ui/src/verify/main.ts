// The script of the public pages /v/{code} and /v/verify (served as /v/verify.js):
// checks the signed claim in the URL fragment (or pasted) against the county's
// key embedded in the page, with no network request, and sends the feedback form.
import { type Verdict, claimFromHash, verifyClaim } from "./claim";

const STORED_KEY = "fieldloop.claimKey";

interface CountyKey {
  kid: string;
  public_key: string;
}

export const VERDICT_TEXT: Record<Verdict["kind"], string> = {
  valid: "签名有效 / valid",
  tampered: "已被篡改 / tampered",
  expired: "已过期 / expired",
  not_yet_valid: "尚未生效 / not yet valid",
  unknown_key: "非本县签发 / unknown key",
  malformed: "无法识别 / not a claim",
};

function countyKey(): CountyKey | null {
  const el = document.getElementById("claim-key");
  try {
    if (el?.textContent) {
      const key = JSON.parse(el.textContent) as CountyKey;
      try {
        localStorage.setItem(STORED_KEY, JSON.stringify(key));
      } catch {
        // private mode: the embedded key is enough
      }
      return key;
    }
    const stored = localStorage.getItem(STORED_KEY);
    return stored ? (JSON.parse(stored) as CountyKey) : null;
  } catch {
    return null;
  }
}

function day(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
}

function show(text: string | null): void {
  const out = document.querySelector<HTMLElement>("[data-testid=claim-verdict]");
  const details = document.querySelector<HTMLElement>("[data-testid=claim-details]");
  if (!out) return;
  if (!text) {
    out.dataset.verdict = "none";
    out.textContent = "链接中没有签名核验码 (no signed claim in the link)";
    return;
  }
  const key = countyKey();
  if (!key) {
    out.dataset.verdict = "no_key";
    out.textContent = "没有本县公钥，请联网打开一次本页 (no county key: open this page online once)";
    return;
  }
  const verdict = verifyClaim(text, key.kid, key.public_key, Date.now());
  out.dataset.verdict = verdict.kind;
  out.className = `verdict ${verdict.kind}`;
  out.textContent = VERDICT_TEXT[verdict.kind];
  if (details) {
    details.textContent = "";
    if ("claim" in verdict) {
      const c = verdict.claim;
      const rows: [string, string][] = [
        ["任务编号", c.taskCode],
        ["核验码", c.verifyCode],
        ["统一社会信用代码", c.uscc],
        ["部门", c.departments.map((d) => d.name).join("、")],
        ["执法人员", c.inspectors.map((i) => `${i.name}（${i.badge}）`).join("、")],
        ["检查期限", `${day(c.nbf)} 至 ${day(c.exp)}`],
      ];
      for (const [k, v] of rows) {
        const dt = document.createElement("dt");
        dt.textContent = k;
        const dd = document.createElement("dd");
        dd.textContent = v;
        details.append(dt, dd);
      }
    }
  }
}

function fromLocation(): void {
  show(claimFromHash(location.hash));
}

function wireFeedback(): void {
  const form = document.querySelector<HTMLFormElement>("[data-testid=feedback-form]");
  const result = document.querySelector<HTMLElement>("[data-testid=feedback-result]");
  if (!form || !result) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const yes = (name: string) => data.get(name) === "yes";
    const body = {
      rating: Number(data.get("rating")),
      badge_shown: yes("badge_shown"),
      rights_told: yes("rights_told"),
      money_asked: yes("money_asked"),
      comment: String(data.get("comment") ?? ""),
    };
    try {
      const r = await fetch(form.dataset.endpoint ?? "", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = (await r.json().catch(() => ({}))) as { message?: string; code?: string };
      result.dataset.status = String(r.status);
      result.dataset.ok = String(r.ok);
      result.textContent = r.ok ? "感谢您的评价，已提交 (thank you: your feedback was sent)" : (answer.message ?? `错误 ${r.status}`);
      if (r.ok) form.querySelector("button")?.setAttribute("disabled", "");
    } catch {
      result.dataset.status = "network";
      result.dataset.ok = "false";
      result.textContent = "网络不可用，请稍后再提交 (no network: send it later)";
    }
  });
}

function wirePaste(): void {
  const input = document.querySelector<HTMLTextAreaElement>("[data-testid=claim-input]");
  const button = document.querySelector<HTMLButtonElement>("[data-testid=claim-check]");
  button?.addEventListener("click", () => show(input?.value.trim() ?? ""));
}

if (typeof document !== "undefined") {
  const start = () => {
    countyKey();
    fromLocation();
    wirePaste();
    wireFeedback();
    window.addEventListener("hashchange", fromLocation);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
