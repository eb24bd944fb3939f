// Findings (问题) with their rectification orders (责令整改), and lead
// transfers (线索移送) to other departments, criminal referrals (行刑衔接)
// included.

import type { Finding } from "../../bindings/Finding";
import type { LeadTransfer } from "../../bindings/LeadTransfer";
import type { Severity } from "../../bindings/Severity";
import type { TaskView } from "../../bindings/TaskView";
import { dateInputValue, endOfDateInput } from "../../dates";
import { h, replaceChildren } from "../../dom";
import { MESSAGES } from "../../i18n";
import { buttonProps, type Panel, type TaskCtx } from "./ctx";
import type { Part } from "./keyed";
import { itemTitle } from "./texts";

export const SEVERITIES: readonly Severity[] = ["minor", "major", "critical"];

export function findingsPanel(ctx: TaskCtx): Panel {
  const findings = findingsSection(ctx);
  const transfers = transfersSection(ctx);
  return {
    element: h("div", { class: "findings-panel" }, findings.element, transfers.element),
    update(view) {
      findings.update(view);
      transfers.update(view);
    },
  };
}

function formField(label: HTMLElement, control: HTMLElement, className = ""): HTMLElement {
  return h("label", { class: `form-field ${className}`.trim() }, label, control);
}

function findingsSection(ctx: TaskCtx): Part<TaskView> {
  const { t } = ctx;
  const title = h("h3", { class: "card-title" });
  const list = h("ul", { class: "record-list", testid: "findings" });
  const empty = h("p", { class: "empty-note", testid: "findings-empty" });
  const formTitle = h("h4", { class: "form-title" });
  const labels = {
    description: h("span", { class: "field-label" }),
    severity: h("span", { class: "field-label" }),
    item: h("span", { class: "field-label" }),
    order: h("span", { class: "field-label" }),
    deadline: h("span", { class: "field-label" }),
  };
  const description = h("textarea", { class: "text-input", testid: "finding-description", attrs: { rows: "3", maxlength: "2000" } });
  const severity = h("select", { class: "select", testid: "finding-severity" }, ...SEVERITIES.map((s) => h("option", { attrs: { value: s } })));
  const item = h("select", { class: "select", testid: "finding-item" });
  const order = h("textarea", { class: "text-input", testid: "finding-order", attrs: { rows: "2", maxlength: "2000" } });
  const deadline = h("input", { class: "text-input", testid: "finding-deadline", attrs: { type: "date" } });
  const orderHint = h("p", { class: "hint", testid: "finding-order-hint" });
  const error = h("p", { class: "form-error", testid: "finding-form-error", attrs: { role: "alert" } });
  const add = h("button", { ...buttonProps("finding-add", "btn btn-primary"), on: { click: () => submit() } });
  error.hidden = true;
  let itemsKey = "";

  const form = h(
    "div",
    { class: "record-form", testid: "finding-form" },
    formTitle,
    formField(labels.description, description, "wide"),
    h("div", { class: "form-row" }, formField(labels.severity, severity), formField(labels.item, item, "grow")),
    h(
      "fieldset",
      { class: "order-fields" },
      orderHint,
      h("div", { class: "form-row" }, formField(labels.order, order, "grow"), formField(labels.deadline, deadline)),
    ),
    error,
    h("div", { class: "form-actions" }, add),
  );
  const element = h("section", { class: "card findings-card" }, title, list, empty, form);

  function fail(text: string, focus: HTMLElement): void {
    error.textContent = text;
    error.hidden = false;
    focus.focus();
  }

  function submit(): void {
    const text = description.value.trim();
    const orderText = order.value.trim();
    if (text === "") return fail(t("taskScreen.findings.descriptionRequired"), description);
    if ((orderText === "") !== (deadline.value === "")) {
      return fail(t("taskScreen.findings.orderAndDeadline"), orderText === "" ? order : deadline);
    }
    let due: number | null = null;
    if (deadline.value !== "") {
      due = endOfDateInput(deadline.value, ctx.timeZone);
      if (due === null) return fail(t("taskScreen.findings.deadlineInvalid"), deadline);
      if (due < ctx.now()) return fail(t("taskScreen.findings.deadlinePast"), deadline);
    }
    error.hidden = true;
    const finding = {
      item_id: item.value === "" ? null : item.value,
      description: text,
      severity: severity.value as Severity,
      rectification_order: orderText === "" ? null : orderText,
      rectification_deadline: due,
    };
    void ctx.act("finding", () => ctx.backend.addFinding(ctx.taskId, finding)).then((ok) => {
      if (!ok) return;
      description.value = "";
      severity.value = "minor";
      item.value = "";
      order.value = "";
      deadline.value = "";
    });
  }

  return {
    element,
    update(view) {
      title.textContent = t("taskScreen.findings.title");
      formTitle.textContent = t("taskScreen.findings.new");
      labels.description.textContent = t("taskScreen.findings.description");
      labels.severity.textContent = t("taskScreen.findings.severity");
      labels.item.textContent = t("taskScreen.findings.item");
      labels.order.textContent = t("taskScreen.findings.order");
      labels.deadline.textContent = t("taskScreen.findings.deadline");
      orderHint.textContent = t("taskScreen.findings.orderHint");
      description.placeholder = t("taskScreen.findings.descriptionPlaceholder");
      order.placeholder = t("taskScreen.findings.orderPlaceholder");
      add.textContent = t("taskScreen.findings.add");
      for (const option of severity.options) option.textContent = t(`taskScreen.severity.${option.value as Severity}`);
      deadline.min = dateInputValue(ctx.now(), ctx.timeZone);

      // The item choices, rebuilt only when the items (or the language) change, keeping the choice.
      const key = `${ctx.i18n.lang}|${view.groups.map((g) => g.department.code + ":" + g.items.map((i) => i.id).join(",")).join(";")}`;
      if (key !== itemsKey) {
        itemsKey = key;
        const chosen = item.value;
        replaceChildren(
          item,
          h("option", { attrs: { value: "" }, text: t("taskScreen.findings.noItem") }),
          ...view.groups.map((g) =>
            h(
              "optgroup",
              { attrs: { label: ctx.deptName(g.department) } },
              ...g.items.map((i) => h("option", { attrs: { value: i.id }, text: i.title })),
            ),
          ),
        );
        item.value = chosen;
        if (item.value !== chosen) item.value = "";
      }

      const editable = ctx.editable();
      for (const control of [description, severity, item, order, deadline]) control.disabled = !editable;
      add.disabled = !editable || ctx.busy("finding");

      replaceChildren(list, ...view.findings.map((f) => findingRow(ctx, view, f)));
      empty.hidden = view.findings.length > 0;
      empty.textContent = t("taskScreen.findings.empty");
    },
  };
}

function findingRow(ctx: TaskCtx, view: TaskView, f: Finding): HTMLElement {
  const { t } = ctx;
  const item = f.item_id === null ? null : (itemTitle(view, f.item_id) ?? f.item_id);
  return h(
    "li",
    { class: `record finding severity-${f.severity}`, testid: "finding", attrs: { "data-finding-id": f.id, "data-severity": f.severity } },
    h(
      "div",
      { class: "record-head" },
      h("span", { class: `badge badge-severity badge-${f.severity}`, testid: "finding-severity-badge", text: t(`taskScreen.severity.${f.severity}`) }),
      h("span", { class: "record-meta", text: t("taskScreen.recordedBy", { by: ctx.personName(f.by), time: ctx.dateTime(f.at) }) }),
    ),
    h("p", { class: "record-text", testid: "finding-text", text: f.description }),
    item !== null && h("p", { class: "record-sub", text: t("taskScreen.findings.forItem", { item }) }),
    f.rectification_order !== null &&
      h(
        "p",
        { class: "record-order", testid: "finding-order-text" },
        t("taskScreen.findings.orderText", { order: f.rectification_order }),
        f.rectification_deadline !== null && ` ${t("taskScreen.findings.deadlineText", { date: ctx.date(f.rectification_deadline) })}`,
      ),
  );
}

function transfersSection(ctx: TaskCtx): Part<TaskView> {
  const { t } = ctx;
  const title = h("h3", { class: "card-title" });
  const list = h("ul", { class: "record-list", testid: "transfers" });
  const empty = h("p", { class: "empty-note", testid: "transfers-empty" });
  const formTitle = h("h4", { class: "form-title" });
  const listId = `transfer-departments-${Math.random().toString(36).slice(2, 10)}`;
  const datalist = h("datalist", { attrs: { id: listId } });
  const labels = {
    dept: h("span", { class: "field-label" }),
    summary: h("span", { class: "field-label" }),
    criminal: h("span", { class: "check-text" }),
    evidence: h("legend", { class: "field-label" }),
  };
  const dept = h("input", { class: "text-input", testid: "transfer-dept", attrs: { type: "text", list: listId, autocomplete: "off", maxlength: "200" } });
  const summary = h("textarea", { class: "text-input", testid: "transfer-summary", attrs: { rows: "3", maxlength: "4000" } });
  const criminal = h("input", { class: "checkbox", testid: "transfer-criminal", attrs: { type: "checkbox" } });
  const criminalHint = h("span", { class: "hint" });
  const evidenceBox = h("div", { class: "transfer-evidence-list" });
  const evidenceSet = h("fieldset", { class: "transfer-evidence" }, labels.evidence, evidenceBox);
  const error = h("p", { class: "form-error", testid: "transfer-form-error", attrs: { role: "alert" } });
  const add = h("button", { ...buttonProps("transfer-add", "btn btn-primary"), on: { click: () => submit() } });
  error.hidden = true;
  const picked = new Set<string>();

  const form = h(
    "div",
    { class: "record-form", testid: "transfer-form" },
    formTitle,
    formField(labels.dept, dept, "wide"),
    datalist,
    formField(labels.summary, summary, "wide"),
    h("label", { class: "check-field" }, criminal, h("span", {}, labels.criminal, criminalHint)),
    evidenceSet,
    error,
    h("div", { class: "form-actions" }, add),
  );
  const element = h("section", { class: "card transfers-card" }, title, list, empty, form);

  function fail(text: string, focus: HTMLElement): void {
    error.textContent = text;
    error.hidden = false;
    focus.focus();
  }

  function submit(): void {
    const to = dept.value.trim();
    const text = summary.value.trim();
    if (to === "") return fail(t("taskScreen.transfers.deptRequired"), dept);
    if (text === "") return fail(t("taskScreen.transfers.summaryRequired"), summary);
    error.hidden = true;
    const transfer = { to_department: to, summary: text, criminal: criminal.checked, evidence: [...picked] };
    void ctx.act("transfer", () => ctx.backend.addLeadTransfer(ctx.taskId, transfer)).then((ok) => {
      if (!ok) return;
      dept.value = "";
      summary.value = "";
      criminal.checked = false;
      picked.clear();
      for (const box of evidenceBox.querySelectorAll("input")) box.checked = false;
    });
  }

  return {
    element,
    update(view) {
      title.textContent = t("taskScreen.transfers.title");
      formTitle.textContent = t("taskScreen.transfers.new");
      labels.dept.textContent = t("taskScreen.transfers.dept");
      labels.summary.textContent = t("taskScreen.transfers.summary");
      labels.criminal.textContent = t("taskScreen.transfers.criminal");
      criminalHint.textContent = t("taskScreen.transfers.criminalHint");
      labels.evidence.textContent = t("taskScreen.transfers.evidence");
      dept.placeholder = t("taskScreen.transfers.deptPlaceholder");
      summary.placeholder = t("taskScreen.transfers.summaryPlaceholder");
      add.textContent = t("taskScreen.transfers.add");

      replaceChildren(datalist, ...departmentNames(ctx, view).map((name) => h("option", { attrs: { value: name } })));

      const photos = view.evidence.filter((e) => e.withdrawn_at === null && e.kind !== "signature");
      for (const sha of [...picked]) if (!photos.some((p) => p.sha256 === sha)) picked.delete(sha);
      replaceChildren(
        evidenceBox,
        ...photos.map((p) => {
          const box = h("input", {
            class: "checkbox",
            testid: "transfer-evidence",
            attrs: { type: "checkbox", "data-sha": p.sha256 },
            on: { change: () => (box.checked ? picked.add(p.sha256) : picked.delete(p.sha256)) },
          });
          box.checked = picked.has(p.sha256);
          box.disabled = !ctx.editable();
          const item = p.item === null ? null : itemTitle(view, p.item);
          return h(
            "label",
            { class: "check-field small" },
            box,
            h("span", { text: [p.caption ?? t(`taskScreen.evidence.kind.${p.kind}`), ctx.dateTime(p.taken_at), item].filter(Boolean).join(" · ") }),
          );
        }),
      );
      evidenceSet.hidden = photos.length === 0;

      const editable = ctx.editable();
      for (const control of [dept, summary, criminal]) control.disabled = !editable;
      add.disabled = !editable || ctx.busy("transfer");

      replaceChildren(list, ...view.lead_transfers.map((x) => transferRow(ctx, x)));
      empty.hidden = view.lead_transfers.length > 0;
      empty.textContent = t("taskScreen.transfers.empty");
    },
  };
}

/** Departments to suggest: the task's (full names), then every department the UI knows by name. */
function departmentNames(ctx: TaskCtx, view: TaskView): string[] {
  const names = view.departments.map((d) => ctx.deptName(d));
  const known = MESSAGES[ctx.i18n.lang] as Readonly<Record<string, string>>;
  for (const [key, name] of Object.entries(known)) if (key.startsWith("dept.")) names.push(name);
  return [...new Set(names)];
}

function transferRow(ctx: TaskCtx, x: LeadTransfer): HTMLElement {
  const { t } = ctx;
  return h(
    "li",
    { class: `record transfer${x.criminal ? " is-criminal" : ""}`, testid: "transfer", attrs: { "data-transfer-id": x.id, "data-criminal": String(x.criminal) } },
    h(
      "div",
      { class: "record-head" },
      h("span", { class: "record-title", testid: "transfer-to", text: t("taskScreen.transfers.to", { dept: x.to_department }) }),
      x.criminal && h("span", { class: "badge badge-criminal", text: t("taskScreen.transfers.criminalBadge") }),
      h("span", { class: "record-meta", text: t("taskScreen.recordedBy", { by: ctx.personName(x.by), time: ctx.dateTime(x.at) }) }),
    ),
    h("p", { class: "record-text", text: x.summary }),
    x.evidence.length > 0 && h("p", { class: "record-sub", text: t("taskScreen.transfers.evidenceCount", { count: x.evidence.length }) }),
  );
}
