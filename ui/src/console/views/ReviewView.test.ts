// @vitest-environment happy-dom
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h } from "vue";
import { RouterView, createMemoryHistory } from "vue-router";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import { type FakeAnswer, type FakeCall, NOW, PHOTO, PHOTO_2, consoleRecord, session, testConsole } from "../testing/fixtures";

const Host = defineComponent({ render: () => h(RouterView) });

async function open(routes: Record<string, FakeAnswer>, role: "supervisor" | "admin" = "supervisor") {
  const { context, calls } = testConsole({
    "GET /api/v1/console/config": { body: { tile_url: null, tile_attribution: null } },
    "GET /api/v1/console/tasks/T-1": { body: consoleRecord() },
    ...routes,
  });
  context.session.value = session({ role });
  const router = createConsoleRouter(context, createMemoryHistory());
  await router.push("/tasks/T-1");
  const wrapper = mount(Host, { global: { plugins: [router], provide: consoleProvides(context) }, attachTo: document.body });
  await vi.waitFor(() => expect(wrapper.find('[data-testid="record-status"]').exists()).toBe(true));
  await flushPromises();
  return { wrapper, calls };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  document.body.innerHTML = "";
});

const bodyEl = (testid: string) => document.body.querySelector<HTMLElement>(`[data-testid="${testid}"]`);

describe("ReviewView", () => {
  it("shows the record: status, subject, items, photos, distances, timeline, conflicts", async () => {
    const { wrapper } = await open({});
    cleanup = () => wrapper.unmount();
    expect(wrapper.get('[data-testid="record-status"]').attributes("data-status")).toBe("submitted");
    expect(wrapper.get('[data-testid="record-status"]').text()).toBe("待审核");
    expect(wrapper.get('[data-testid="record-subject"]').text()).toBe("西湖区鲜味餐馆");
    expect(wrapper.findAll('[data-testid="record-item"]')).toHaveLength(3);
    // Each piece of evidence once in the evidence list (withdrawn included), and again beside its item.
    expect(wrapper.findAll('[data-testid="record-photo"]').map((p) => p.attributes("data-sha256"))).toEqual([PHOTO, PHOTO_2]);
    expect(wrapper.findAll('[data-testid="item-photo"]').map((p) => p.attributes("data-sha256"))).toEqual([PHOTO]);
    // Files are read through the task that shows them (a department's supervisor sees them that way).
    const thumbs = wrapper.findAll('img[data-testid="record-photo"]').map((i) => i.attributes("src") ?? "");
    expect(thumbs.length).toBeGreaterThan(0);
    expect(thumbs.every((src) => src.endsWith("?task=T-1"))).toBe(true);
    expect(wrapper.find('[data-testid="record-map"]').exists()).toBe(true);
    const distances = wrapper.findAll('[data-testid="map-distance"]');
    expect(distances.map((d) => [d.attributes("data-inspector"), d.attributes("data-metres")])).toEqual([
      ["I-001", "0"],
      ["I-002", "120"],
    ]);
    expect(wrapper.findAll('[data-testid="timeline-entry"]')).toHaveLength(2);
    const conflict = wrapper.get('[data-testid="record-conflict"]');
    expect(conflict.text()).toContain("合格");
    expect(conflict.text()).toContain("不合格");
    expect(conflict.text()).toContain("张伟");
    expect(conflict.text()).toContain("李娜");
    expect(wrapper.get('[data-testid="record-transfer-criminal"]').text()).toBe("行刑衔接");
  });

  it("offers a supervisor return, approve and cancel on a submitted record", async () => {
    const { wrapper } = await open({});
    cleanup = () => wrapper.unmount();
    expect(wrapper.find('[data-testid="action-return"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="action-approve"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="action-cancel"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="action-publish"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="action-reopen"]').exists()).toBe(false);
  });

  it("returns only with a comment, and shows the state the server answers", async () => {
    const review = vi.fn((call: FakeCall) => {
      void call;
      return { body: consoleRecord({ status: "returned", return_comment: "照片不清楚" }) };
    });
    const { wrapper, calls } = await open({ "POST /api/v1/console/tasks/T-1/review": review });
    cleanup = () => wrapper.unmount();

    await wrapper.get('[data-testid="action-return"]').trigger("click");
    await flushPromises();
    const confirm = bodyEl("action-confirm");
    expect(confirm?.hasAttribute("disabled") || confirm?.getAttribute("aria-disabled") === "true").toBe(true);

    const comment = document.body.querySelector<HTMLTextAreaElement>('textarea[data-testid="action-comment"]');
    expect(comment).not.toBeNull();
    comment!.value = "照片不清楚";
    comment!.dispatchEvent(new Event("input"));
    await flushPromises();
    bodyEl("action-confirm")?.click();
    await flushPromises();

    expect(review).toHaveBeenCalledTimes(1);
    const post = calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({ action: "return", comment: "照片不清楚" });
    expect(post?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(wrapper.get('[data-testid="record-status"]').attributes("data-status")).toBe("returned");
    expect(wrapper.get('[data-testid="record-return-comment"]').text()).toContain("照片不清楚");
  });

  it("shows the server's refusal in the dialog", async () => {
    const { wrapper } = await open({
      "POST /api/v1/console/tasks/T-1/review": {
        status: 409,
        body: { code: "task.status_transition", message: "任务已被其他审核人员处理 (already decided)" },
      },
    });
    cleanup = () => wrapper.unmount();
    await wrapper.get('[data-testid="action-approve"]').trigger("click");
    await flushPromises();
    bodyEl("action-confirm")?.click();
    await flushPromises();
    expect(bodyEl("action-error")?.textContent).toBe("任务已被其他审核人员处理 (already decided)");
    expect(wrapper.get('[data-testid="record-status"]').attributes("data-status")).toBe("submitted");
  });

  it("offers an admin reopen on a published record", async () => {
    const { wrapper } = await open(
      { "GET /api/v1/console/tasks/T-1": { body: consoleRecord({ status: "published" }) } },
      "admin",
    );
    cleanup = () => wrapper.unmount();
    expect(wrapper.findAll('[data-testid^="action-"]').map((b) => b.attributes("data-testid"))).toEqual(["action-reopen"]);
  });

  it("reads top to bottom as a supervisor reviews: subject, checklist, evidence, map, findings, signatures, conflicts, timeline, flags", async () => {
    const record = consoleRecord();
    record.flags = [{ flag: { kind: "concurrent_with_submission", change: "c1" }, device_id: "D-0001", received_at: NOW }];
    const { wrapper } = await open({ "GET /api/v1/console/tasks/T-1": { body: record } });
    cleanup = () => wrapper.unmount();
    const order = [
      "record-subject",
      "action-approve",
      "record-item",
      "record-photo",
      "record-map",
      "record-finding",
      "record-transfer",
      "record-signature",
      "record-conflict",
      "timeline-entry",
      "record-flags",
    ].map((testid) => {
      const el = bodyEl(testid);
      expect(el, testid).not.toBeNull();
      return el!;
    });
    for (let i = 1; i < order.length; i++) {
      const before = order[i - 1]!;
      const after = order[i]!;
      expect(
        before.compareDocumentPosition(after) & Node.DOCUMENT_POSITION_FOLLOWING,
        `${before.dataset["testid"]} before ${after.dataset["testid"]}`,
      ).toBeTruthy();
    }
  });

  describe("the server's flags", () => {
    const flagged = () => {
      const record = consoleRecord();
      record.flags = [
        { flag: { kind: "concurrent_with_submission", change: "c1" }, device_id: "D-0001", received_at: NOW },
        {
          flag: { kind: "outside_certification", change: "c2", item: "XFJY-01", department: "XFJY" },
          device_id: "D-0002",
          received_at: NOW,
        },
        {
          flag: { kind: "outside_certification", change: "c3", item: "NO-SUCH", department: "XFJY" },
          device_id: "D-0002",
          received_at: NOW,
        },
      ];
      return record;
    };
    const header = () => document.body.querySelector<HTMLElement>('[data-testid="record-flags"] [aria-expanded]');
    const region = () => document.body.querySelector<HTMLElement>('[data-testid="record-flags"] [role="region"]');

    it("are collapsed by default, with the count of each kind in the title", async () => {
      const { wrapper } = await open({ "GET /api/v1/console/tasks/T-1": { body: flagged() } });
      cleanup = () => wrapper.unmount();
      expect(wrapper.get('[data-testid="flag-summary"]').text()).toBe("2 项由不具备资质的部门人员填写 · 1 项在提交后同时修改");
      expect(header()?.getAttribute("aria-expanded")).toBe("false");
      expect(region()?.style.display).toBe("none");
      expect(wrapper.get('[data-testid="record-flags-link"]').text()).toContain("3 项服务器提示");
    });

    it("list one table row per flag when opened: kind, item, department, device", async () => {
      const { wrapper } = await open({ "GET /api/v1/console/tasks/T-1": { body: flagged() } });
      cleanup = () => wrapper.unmount();
      header()?.click();
      await flushPromises();
      expect(header()?.getAttribute("aria-expanded")).toBe("true");
      expect(region()?.style.display).not.toBe("none");
      const rows = wrapper.findAll('[data-testid="record-flag"]');
      expect(rows.map((r) => r.attributes("data-kind"))).toEqual([
        "concurrent_with_submission",
        "outside_certification",
        "outside_certification",
      ]);
      expect(rows.every((r) => r.element.tagName === "TR")).toBe(true);
      expect(rows[0]?.text()).toContain("与提交同时");
      expect(rows[0]?.text()).toContain("D-0001");
      expect(rows[1]?.text()).toContain("不具备资质");
      expect(rows[1]?.text()).toContain("疏散通道畅通（XFJY-01）");
      expect(rows[1]?.text()).toContain("消防救援");
      expect(rows[1]?.text()).toContain("D-0002");
      expect(rows[2]?.text()).toContain("NO-SUCH");
    });

    it("open from the badge beside the actions", async () => {
      const { wrapper } = await open({ "GET /api/v1/console/tasks/T-1": { body: flagged() } });
      cleanup = () => wrapper.unmount();
      await wrapper.get('[data-testid="record-flags-link"]').trigger("click");
      await flushPromises();
      expect(header()?.getAttribute("aria-expanded")).toBe("true");
      expect(region()?.style.display).not.toBe("none");
    });

    it("take no room when there are none", async () => {
      const { wrapper } = await open({});
      cleanup = () => wrapper.unmount();
      expect(wrapper.find('[data-testid="record-flags"]').exists()).toBe(false);
      expect(wrapper.find('[data-testid="record-flags-link"]').exists()).toBe(false);
    });
  });

  it("links the printed record and a rectification notice per finding with an order", async () => {
    const finding = (id: string, order: string | null) => ({
      id,
      item_id: null,
      description: `问题 ${id}`,
      severity: "minor" as const,
      rectification_order: order,
      rectification_deadline: order === null ? null : NOW,
      by: "I-001",
      at: NOW,
    });
    const { wrapper } = await open({
      "GET /api/v1/console/tasks/T-1": {
        body: consoleRecord({ findings: [finding("F-1", "三日内维修冷藏设备"), finding("F-2", null), finding("F/3", "清理过期食品")] }),
      },
    });
    cleanup = () => wrapper.unmount();
    const record = wrapper.get('[data-testid="print-record"]');
    expect(record.element.tagName).toBe("A");
    expect(record.attributes("href")).toBe("/api/v1/console/tasks/T-1/record.pdf");
    expect(record.attributes("download")).toBeDefined();
    expect(record.text()).toContain("打印笔录");
    // Only findings with an order get a notice; numbered as the findings are.
    const notices = wrapper.findAll('[data-testid="print-notice"]');
    expect(notices.map((n) => n.attributes("data-finding-id"))).toEqual(["F-1", "F/3"]);
    expect(notices.map((n) => n.attributes("href"))).toEqual([
      "/api/v1/console/tasks/T-1/notice.pdf?finding=F-1",
      "/api/v1/console/tasks/T-1/notice.pdf?finding=F%2F3",
    ]);
    expect(notices[0]?.text()).toContain("责令改正通知书 1");
    expect(notices[1]?.text()).toContain("责令改正通知书 3");
    expect(notices[1]?.attributes("title")).toBe("下载问题 3 的责令改正通知书（PDF）");
  });

  it("offers no notice when no finding has an order", async () => {
    const { wrapper } = await open({ "GET /api/v1/console/tasks/T-1": { body: consoleRecord({ findings: [] }) } });
    cleanup = () => wrapper.unmount();
    expect(wrapper.find('[data-testid="print-record"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="print-notice"]').exists()).toBe(false);
  });

  it("says why the record cannot be shown", async () => {
    const { context } = testConsole({
      "GET /api/v1/console/config": { body: { tile_url: null, tile_attribution: null } },
      "GET /api/v1/console/tasks/T-1": {
        status: 404,
        body: { code: "console.not_found", message: "没有任务 T-1 (no task T-1)" },
      },
    });
    const router = createConsoleRouter(context, createMemoryHistory());
    await router.push("/tasks/T-1");
    const wrapper = mount(Host, { global: { plugins: [router], provide: consoleProvides(context) }, attachTo: document.body });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="review-error"]').exists()).toBe(true));
    expect(wrapper.get('[data-testid="review-error"]').text()).toContain("没有任务 T-1 (no task T-1)");
  });
});
