// Overview: the business inspected, the time window, the departments, the
// inspectors and their check-ins, and the GPS trace of the visit.

import type { InspectorView } from "../../bindings/InspectorView";
import type { TaskView } from "../../bindings/TaskView";
import { h, replaceChildren } from "../../dom";
import { isOverdue } from "../../tasks/due";
import { buttonProps, type Panel, type TaskCtx } from "./ctx";
import { isTaskKey } from "./texts";
import { tracePlot } from "./trace";

export interface GeoStatus {
  /** The location service is being watched (the task is editable). */
  watching: boolean;
  /** Why there are no positions, while there are none. */
  unavailable: string | null;
  /** Accuracy of the latest fix, in metres. */
  accuracy: number | null;
  /** Why the last trace points could not be recorded, if they could not. */
  traceError: string | null;
}

export function overviewPanel(ctx: TaskCtx, geo: () => GeoStatus): Panel {
  const { t } = ctx;
  const subject = h("section", { class: "card subject-card", testid: "subject-card" });
  const windowBox = h("div", { class: "task-window", testid: "task-window" });
  const departments = h("ul", { class: "departments", testid: "task-departments" });
  const inspectors = h("ul", { class: "inspectors", testid: "inspectors" });
  const location = h("div", { class: "location-status" });
  const plot = h("div", { class: "trace-plot", testid: "trace-plot" });
  const count = h("p", { class: "trace-count", testid: "trace-count" });
  const traceError = h("p", { class: "notice notice-warn", testid: "trace-error" });
  const checkIn = h("button", {
    ...buttonProps("check-in", "btn btn-primary btn-large"),
    on: {
      click: () => {
        const fix = ctx.lastFix();
        void ctx.act("checkIn", () =>
          ctx.backend.checkIn(ctx.taskId, fix === null ? null : { lat: fix.lat, lon: fix.lon }),
        );
      },
    },
  });
  const checkInHint = h("p", { class: "hint check-in-hint", testid: "check-in-hint" });

  const headings = {
    when: h("h3", { class: "card-title" }),
    departments: h("h3", { class: "card-title" }),
    inspectors: h("h3", { class: "card-title" }),
    trace: h("h3", { class: "card-title" }),
  };

  const element = h(
    "div",
    { class: "overview" },
    subject,
    h("section", { class: "card" }, headings.when, windowBox, headings.departments, departments),
    h("section", { class: "card" }, headings.inspectors, inspectors),
    h("section", { class: "card trace-card" }, headings.trace, location, plot, count, traceError),
  );

  function field(label: string, value: string, testid: string, className = ""): HTMLElement {
    return h(
      "div",
      { class: `field ${className}`.trim() },
      h("dt", { class: "field-label", text: label }),
      h("dd", { class: "field-value", testid, text: value }),
    );
  }

  function inspectorRow(view: TaskView, inspector: InspectorView): HTMLElement {
    const checked = inspector.checked_in_at !== null;
    const mine = inspector.me && !checked && view.editable;
    return h(
      "li",
      {
        class: `inspector${checked ? " is-checked-in" : ""}${inspector.me ? " is-me" : ""}`,
        testid: "inspector",
        attrs: { "data-person": inspector.id, "data-checked-in": String(checked) },
      },
      h(
        "div",
        { class: "inspector-main" },
        h("span", { class: "inspector-name", testid: "inspector-name", text: inspector.name }),
        inspector.me && h("span", { class: "badge badge-me", text: t("taskScreen.overview.me") }),
      ),
      h("span", {
        class: "inspector-check",
        testid: "inspector-check",
        text: checked
          ? t(inspector.checked_in_location === null ? "taskScreen.overview.checkedInNoPlace" : "taskScreen.overview.checkedIn", {
              time: ctx.dateTime(inspector.checked_in_at!),
            })
          : t("taskScreen.overview.notCheckedIn"),
      }),
      mine && h("div", { class: "check-in-row" }, checkIn, checkInHint),
    );
  }

  return {
    element,
    update(view) {
      const status = geo();
      const industryKey = `taskScreen.industry.${view.industry}`;
      headings.when.textContent = t("taskScreen.overview.window");
      headings.departments.textContent = t("taskScreen.overview.departments");
      headings.inspectors.textContent = t("taskScreen.overview.inspectors");
      headings.trace.textContent = t("taskScreen.overview.trace");

      replaceChildren(
        subject,
        h("h2", { class: "subject-title", testid: "subject-name", text: view.subject_name }),
        h(
          "dl",
          { class: "fields" },
          field(t("taskScreen.subject.uscc"), view.uscc, "subject-uscc", "mono"),
          field(t("taskScreen.subject.address"), view.address, "subject-address", "wide"),
          field(t("taskScreen.subject.industry"), isTaskKey(industryKey) ? t(industryKey) : view.industry, "subject-industry"),
          field(t("taskScreen.subject.risk"), t(`taskScreen.risk.${view.risk_class}`), "subject-risk", `risk risk-${view.risk_class}`),
          field(t("taskScreen.subject.legalRep"), view.legal_rep, "subject-legal-rep"),
        ),
      );

      const overdue = view.status !== null && isOverdue({ due: view.window.due, status: view.status }, ctx.now());
      windowBox.classList.toggle("is-overdue", overdue);
      windowBox.dataset.overdue = String(overdue);
      replaceChildren(
        windowBox,
        h("span", { class: "window-range", testid: "window-range", text: t("taskScreen.overview.range", { start: ctx.date(view.window.start), due: ctx.date(view.window.due) }) }),
        overdue && h("span", { class: "badge badge-overdue", testid: "window-overdue", text: t("taskScreen.overview.overdue") }),
      );

      replaceChildren(
        departments,
        ...view.departments.map((d) =>
          h("li", {
            class: `department${d.code === view.lead_department ? " is-lead" : ""}`,
            attrs: { "data-department": d.code },
            text: d.code === view.lead_department ? t("taskScreen.overview.lead", { name: ctx.deptName(d) }) : ctx.deptName(d),
          }),
        ),
      );

      checkIn.textContent = t("taskScreen.overview.checkIn");
      checkIn.disabled = !ctx.editable() || ctx.busy("checkIn");
      checkInHint.textContent = t(ctx.lastFix() === null ? "taskScreen.overview.checkInNoFix" : "taskScreen.overview.checkInWithFix");
      replaceChildren(inspectors, ...view.inspectors.map((i) => inspectorRow(view, i)));

      replaceChildren(
        location,
        status.watching && status.unavailable !== null
          ? h(
              "p",
              { class: "notice notice-warn", testid: "location-unavailable", attrs: { role: "status" } },
              t("taskScreen.geo.unavailable"),
              " ",
              h("span", { class: "hint", text: geoReason(ctx, status.unavailable) }),
            )
          : status.watching && status.accuracy !== null
            ? h("p", { class: "notice notice-ok", testid: "gps-status", text: t("taskScreen.geo.fix", { accuracy: Math.round(status.accuracy) }) })
            : status.watching
              ? h("p", { class: "notice", testid: "gps-status", text: t("taskScreen.geo.waiting") })
              : null,
      );
      replaceChildren(plot, tracePlot(view.trace, view.location, t("taskScreen.overview.traceLabel")));
      count.textContent = t("taskScreen.overview.traceCount", { count: view.trace.length });
      traceError.hidden = status.traceError === null;
      traceError.textContent = status.traceError === null ? "" : t("taskScreen.geo.traceFailed", { message: status.traceError });
    },
  };
}

function geoReason(ctx: TaskCtx, reason: string): string {
  const key = `taskScreen.geo.reason.${reason}`;
  return isTaskKey(key) ? ctx.t(key) : reason;
}
