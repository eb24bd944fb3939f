// @vitest-environment happy-dom
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import App from "../App.vue";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import { type FakeAnswer, session, taskPage, testConsole } from "../testing/fixtures";

async function start(path: string, routes: Record<string, FakeAnswer>) {
  const { context, calls } = testConsole(
    {
      "GET /api/v1/console/session": { status: 401, body: { code: "console.no_session", message: "请先登录 (sign in)" } },
      "GET /api/v1/console/tasks": { body: taskPage([]) },
      ...routes,
    },
    { signedIn: false },
  );
  const router = createConsoleRouter(context, createMemoryHistory());
  await router.push(path);
  const wrapper = mount(App, { global: { plugins: [router], provide: consoleProvides(context) }, attachTo: document.body });
  await flushPromises();
  return { wrapper, router, calls, context };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

describe("sign-in", () => {
  it("sends a visitor without a session to the login page, then back where they were going", async () => {
    const { wrapper, router, calls } = await start("/tasks?status=submitted", {
      "POST /api/v1/console/login": { body: session() },
    });
    cleanup = () => wrapper.unmount();
    expect(router.currentRoute.value.name).toBe("login");
    expect(router.currentRoute.value.query).toEqual({ redirect: "/tasks?status=submitted" });
    expect(wrapper.find('[data-testid="nav-tasks"]').exists()).toBe(false);

    // The test ids sit on the native inputs, where a WebDriver types.
    expect(wrapper.get('[data-testid="login-user"]').element.tagName).toBe("INPUT");
    await wrapper.get('[data-testid="login-user"]').setValue("chen");
    await wrapper.get('[data-testid="login-password"]').setValue("secret");
    await wrapper.get("form").trigger("submit");
    await flushPromises();

    expect(calls.find((c) => c.url.pathname === "/api/v1/console/login")?.body).toEqual({ user: "chen", password: "secret" });
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe("/tasks?status=submitted"));
    await flushPromises();
    expect(wrapper.get('[data-testid="user-name"]').text()).toBe("陈主任");
    expect(wrapper.find('[data-testid="nav-dashboard"]').exists()).toBe(true);
  });

  it("shows the console's words for a wrong password", async () => {
    const { wrapper, router } = await start("/login", {
      "POST /api/v1/console/login": { status: 401, body: { code: "console.bad_login", message: "bad (server words)" } },
    });
    cleanup = () => wrapper.unmount();
    await wrapper.get('[data-testid="login-user"]').setValue("chen");
    await wrapper.get('[data-testid="login-password"]').setValue("wrong");
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(wrapper.get('[data-testid="login-error"]').text()).toBe("用户名或密码不正确。");
    expect(router.currentRoute.value.name).toBe("login");
  });

  it("shows the server's message for a code it has no words for", async () => {
    const { wrapper } = await start("/login", {
      "POST /api/v1/console/login": { status: 503, body: { code: "server.busy", message: "服务器繁忙 (server busy)" } },
    });
    cleanup = () => wrapper.unmount();
    await wrapper.get('[data-testid="login-user"]').setValue("chen");
    await wrapper.get('[data-testid="login-password"]').setValue("x");
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(wrapper.get('[data-testid="login-error"]').text()).toBe("服务器繁忙 (server busy)");
  });

  it("goes to the login page when a request finds the session expired", async () => {
    const { wrapper, router, context } = await start("/tasks", {
      "GET /api/v1/console/session": { body: session() },
      "GET /api/v1/console/tasks": {
        status: 401,
        body: { code: "console.session_expired", message: "登录已过期 (expired)" },
      },
    });
    cleanup = () => wrapper.unmount();
    expect(router.currentRoute.value.name).toBe("login");
    expect(router.currentRoute.value.query).toEqual({ redirect: "/tasks", expired: "1" });
    expect(context.session.value).toBeNull();
    expect(wrapper.text()).toContain("登录已过期，请重新登录。");
  });

  it("switches the language and remembers it", async () => {
    const { wrapper, context } = await start("/login", {});
    cleanup = () => wrapper.unmount();
    await wrapper.get('[data-testid="lang-switch"]').trigger("click");
    expect(context.i18n.lang.value).toBe("en");
    expect(wrapper.get('[data-testid="login-submit"]').text()).toBe("Sign in");
    expect(document.documentElement.lang).toBe("en-GB");
  });

  it("signs out: tells the server (with the CSRF token) and shows the login page", async () => {
    const { wrapper, router, calls, context } = await start("/tasks", {
      "GET /api/v1/console/session": { body: session() },
      "POST /api/v1/console/logout": { status: 204 },
    });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="logout"]').exists()).toBe(true));
    expect(context.directory.value).not.toBeNull();

    await wrapper.get('[data-testid="logout"]').trigger("click");
    await flushPromises();
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe("login"));
    const logout = calls.find((c) => c.url.pathname === "/api/v1/console/logout");
    expect(logout?.method).toBe("POST");
    expect(logout?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(context.session.value).toBeNull();
    expect(context.directory.value).toBeNull();
    expect(wrapper.find('[data-testid="user-name"]').exists()).toBe(false);
  });
});
