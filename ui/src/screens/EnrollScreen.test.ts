// @vitest-environment happy-dom
import { mount as mountComponent, type VueWrapper } from "@vue/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { nextTick } from "vue";
import { BackendError, type ErrorCode, type Identity } from "../backend/backend";
import { MemoryBackend } from "../backend/memory";
import { I18n } from "../i18n";
import { withDeps } from "../testing/mount";
import { identity } from "../testing/views";
import { enrollLink, SERVER_PLACEHOLDER } from "./enroll";
import EnrollScreen from "./EnrollScreen.vue";

let wrapper: VueWrapper | null = null;

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

/** The screen as the shell holds it: its element, and `settled` to wait for its latest action. */
function enrollScreen(backend: MemoryBackend, i18n: I18n, onEnrolled: (who: Identity) => void) {
  wrapper?.unmount();
  const mounted = mountComponent(EnrollScreen, { attrs: { onEnrolled }, ...withDeps({ backend, i18n }) });
  wrapper = mounted;
  return { element: mounted.element as HTMLElement, settled: () => mounted.vm.settled() };
}

const byTestId = <T extends HTMLElement = HTMLElement>(root: ParentNode, id: string) =>
  root.querySelector<T>(`[data-testid="${id}"]`);

async function mount(backend: MemoryBackend, i18n = new I18n()) {
  const enrolled: Identity[] = [];
  const screen = enrollScreen(backend, i18n, (who) => enrolled.push(who));
  await screen.settled();
  const el = screen.element;
  return {
    el,
    i18n,
    enrolled,
    screen,
    code: byTestId<HTMLTextAreaElement>(el, "enroll-code")!,
    server: byTestId<HTMLInputElement>(el, "enroll-server")!,
    device: byTestId<HTMLInputElement>(el, "enroll-device")!,
    image: byTestId<HTMLInputElement>(el, "enroll-image")!,
    submit: byTestId<HTMLButtonElement>(el, "enroll-submit")!,
  };
}

/** Picks `bytes` as the file of the picture input. */
function pick(input: HTMLInputElement, bytes: number[]): void {
  const file = new File([new Uint8Array(bytes)], "qr.jpg", { type: "image/jpeg" });
  Object.defineProperty(input, "files", { value: [file], configurable: true });
  input.dispatchEvent(new Event("change"));
}

/** A backend whose `enroll` fails with `code`. */
function refusing(code: ErrorCode, message = "server says no") {
  const backend = new MemoryBackend();
  backend.enroll = async (...args) => {
    backend.calls.push({ method: "enroll", args });
    throw new BackendError(code, message);
  };
  return backend;
}

async function enrollWith(backend: MemoryBackend, lang: "zh" | "en" = "zh") {
  const i18n = new I18n();
  i18n.setLang(lang);
  const view = await mount(backend, i18n);
  view.code.value = "K7P2M9QX4R";
  view.server.value = "http://10.0.0.2:7878";
  view.submit.click();
  await view.screen.settled();
  return view;
}

describe("enrollment screen", () => {
  it("has the fields, in Chinese, with the server placeholder and a default device name", async () => {
    const { el, code, server, device, image, submit } = await mount(new MemoryBackend());
    expect(el.querySelector("h2")?.textContent).toBe("注册本设备");
    expect(code.value).toBe("");
    expect(server.placeholder).toBe(SERVER_PLACEHOLDER);
    expect(device.value).toBe("平板 1");
    expect(image.type).toBe("file");
    expect(image.accept).toBe("image/*");
    expect(image.getAttribute("capture")).toBe("environment");
    expect(submit.textContent).toBe("注册");
    expect(submit.type).toBe("submit");
    expect(byTestId(el, "enroll-error")).toBeNull();
  });

  it("prefills the code from the enrollment hint", async () => {
    const backend = new MemoryBackend();
    backend.hint = "fieldloop://enroll?server=http://10.0.0.2:7878&code=K7P2M9QX4R";
    const { code } = await mount(backend);
    expect(code.value).toBe(backend.hint);
  });

  it("enrolls with the code, server and device name, showing that it is busy", async () => {
    const backend = new MemoryBackend();
    backend.enrollAs = identity({ name: "李娜" });
    const { code, server, device, submit, enrolled, screen } = await mount(backend);
    code.value = "  K7P2-M9QX-4R ";
    server.value = " http://10.0.0.2:7878 ";
    device.value = "东山 3 号平板";

    submit.click();
    await nextTick();
    expect(submit.disabled).toBe(true);
    expect(submit.textContent).toBe("正在注册…");
    await screen.settled();

    expect(backend.callsTo("enroll")).toEqual([["K7P2-M9QX-4R", "http://10.0.0.2:7878", "东山 3 号平板"]]);
    expect(enrolled.map((who) => who.name)).toEqual(["李娜"]);
  });

  it("sends no server when the field is empty (the link names it)", async () => {
    const backend = new MemoryBackend();
    const { code, device, submit, screen } = await mount(backend);
    code.value = "fieldloop://enroll?server=http://10.0.0.2:7878&code=K7P2M9QX4R";
    device.value = "";
    submit.click();
    await screen.settled();
    expect(backend.callsTo("enroll")).toEqual([[code.value, null, "平板 1"]]);
  });

  it("asks for a code before calling the backend", async () => {
    const backend = new MemoryBackend();
    const { el, submit, enrolled } = await mount(backend);
    submit.click();
    await nextTick();
    expect(byTestId(el, "enroll-error")?.textContent).toBe("请先输入注册码，或拍摄注册二维码。");
    expect(backend.callsTo("enroll")).toEqual([]);
    expect(enrolled).toEqual([]);
  });

  it("says a refused code is wrong, used or expired", async () => {
    const { el, enrolled, submit } = await enrollWith(refusing("enroll.bad_code"));
    const error = byTestId(el, "enroll-error")!;
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toBe("注册码错误、已被使用或已过期，请向管理员索取新的注册码。");
    expect(error.dataset.code).toBe("enroll.bad_code");
    expect(enrolled).toEqual([]);
    // Ready for another try.
    expect(submit.disabled).toBe(false);
    expect(submit.textContent).toBe("注册");
  });

  it("says so in English too", async () => {
    const { el } = await enrollWith(refusing("enroll.bad_code"), "en");
    expect(byTestId(el, "enroll-error")?.textContent).toBe(
      "The enrollment code is wrong, already used or expired. Ask your administrator for a new one.",
    );
  });

  it("asks to wait after too many attempts", async () => {
    const { el } = await enrollWith(refusing("enroll.rate_limited"));
    expect(byTestId(el, "enroll-error")?.textContent).toBe("尝试次数过多，请等待一分钟后再试。");
  });

  it("says when the text is no enrollment code", async () => {
    const { el } = await enrollWith(refusing("enroll.bad_text"), "en");
    expect(byTestId(el, "enroll-error")?.textContent).toBe(
      "This is not a Fieldloop enrollment code. Check it, or scan the QR code again.",
    );
  });

  it("says when the server cannot be reached", async () => {
    const { el } = await enrollWith(refusing("sync.network", "无法连接服务器 http://10.0.0.2:7878：timeout"));
    expect(byTestId(el, "enroll-error")?.textContent).toBe("无法连接服务器，请检查网络连接和服务器地址。");
  });

  it("asks for the server address when a typed code comes without one", async () => {
    const missing = "请填写服务器地址，例如 http://192.168.1.10:7878 (enter the server address)";
    const { el } = await enrollWith(refusing("app.server_missing", missing));
    expect(byTestId(el, "enroll-error")?.textContent).toBe("只输入注册码时，请同时填写服务器地址，或改为扫描注册二维码。");
    expect(byTestId(el, "enroll-error")?.dataset.code).toBe("app.server_missing");
  });

  it("says how a server address must start", async () => {
    const { el } = await enrollWith(refusing("app.bad_server_address", "服务器地址应以 http:// 或 https:// 开头：10.0.0.2"), "en");
    expect(byTestId(el, "enroll-error")?.textContent).toBe(
      "The server address must start with http:// or https://, e.g. http://192.168.1.10:7878. Check it and type it again.",
    );
  });

  it("uses the app's sentence, never the Rust side's words, for codes it has no words of its own for", async () => {
    const odd = "服务器返回错误 502 (the server answered 502)";
    expect(byTestId((await enrollWith(refusing("sync.http", odd))).el, "enroll-error")?.textContent).toBe(
      "服务器返回了错误，请稍后重试；如仍出错请核对服务器地址或联系管理员。",
    );
    const revoked = await enrollWith(refusing("auth.revoked", "device revoked"), "en");
    expect(byTestId(revoked.el, "enroll-error")?.textContent).toBe(
      "The administrator has switched this tablet off; ask them to enroll it again.",
    );
  });

  it("clears the error when the code is edited", async () => {
    const { el, code } = await enrollWith(refusing("enroll.bad_code"));
    code.value = "K7P2M9QX4S";
    code.dispatchEvent(new Event("input"));
    await nextTick();
    expect(byTestId(el, "enroll-error")).toBeNull();
  });

  it("reads a picture of the QR code into the code field", async () => {
    const backend = new MemoryBackend();
    backend.scanned = { server: "http://10.0.0.2:7878", code: "K7P2M9QX4R", pins: [] };
    const { el, code, server, image, screen } = await mount(backend);
    pick(image, [0xff, 0xd8, 0xff, 0xe0]);
    await screen.settled();

    const [bytes] = backend.callsTo("scanEnrollImage")[0] as [Uint8Array];
    expect([...bytes]).toEqual([0xff, 0xd8, 0xff, 0xe0]);
    expect(code.value).toBe("fieldloop://enroll?server=http%3A%2F%2F10.0.0.2%3A7878&code=K7P2M9QX4R");
    expect(server.value).toBe("http://10.0.0.2:7878");
    expect(byTestId(el, "enroll-info")?.textContent).toBe("已识别二维码，请核对后点击“注册”。");
  });

  it("builds the link from the server field when the QR code holds only the code", async () => {
    const backend = new MemoryBackend();
    backend.scanned = { server: null, code: "K7P2M9QX4R", pins: [] };
    const { code, server, image, screen } = await mount(backend);
    server.value = "http://10.0.0.9:7878";
    pick(image, [1, 2, 3]);
    await screen.settled();
    expect(code.value).toBe(enrollLink("http://10.0.0.9:7878", "K7P2M9QX4R"));

    server.value = "";
    pick(image, [1, 2, 3]);
    await screen.settled();
    expect(code.value).toBe("K7P2M9QX4R");
  });

  it("keeps the key pins of a scanned QR code in the link, so that the tablet pins the server", async () => {
    const backend = new MemoryBackend();
    const pin = `sha256:${"ab".repeat(32)}`;
    backend.scanned = { server: "https://10.0.0.2:7878", code: "K7P2M9QX4R", pins: [pin] };
    const { code, image, screen } = await mount(backend);
    pick(image, [1, 2, 3]);
    await screen.settled();
    const link = new URL(code.value);
    expect(link.searchParams.get("server")).toBe("https://10.0.0.2:7878");
    expect(link.searchParams.getAll("pin")).toEqual([pin]);
  });

  it("keeps a server address holding & and ? whole in the link it builds", () => {
    const link = new URL(enrollLink("https://s.example/fl?x=1&y=2", "K7P2M9QX4R"));
    expect(link.searchParams.get("server")).toBe("https://s.example/fl?x=1&y=2");
    expect(link.searchParams.get("code")).toBe("K7P2M9QX4R");
  });

  it("says when the picture holds no QR code", async () => {
    const backend = new MemoryBackend();
    const { el, code, image, screen } = await mount(backend);
    pick(image, [1, 2, 3]);
    await screen.settled();
    expect(byTestId(el, "enroll-error")?.textContent).toBe("图片中没有找到二维码，请对准二维码、保持清晰后重新拍摄。");
    expect(code.value).toBe("");
  });

  it("switches language, keeping what was typed", async () => {
    const { el, i18n, code, device, submit } = await mount(new MemoryBackend());
    code.value = "K7P2M9QX4R";
    i18n.setLang("en");
    await nextTick();
    expect(el.querySelector("h2")?.textContent).toBe("Enroll this tablet");
    expect(submit.textContent).toBe("Enroll");
    expect(device.value).toBe("Tablet 1");
    expect(code.value).toBe("K7P2M9QX4R");

    device.value = "Van 2";
    i18n.setLang("zh");
    await nextTick();
    expect(device.value).toBe("Van 2");
  });
});
