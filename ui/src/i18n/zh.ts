// Every text the UI shows, in Chinese (the default language).
//
// Keys are flat and dotted by area. en.ts must have exactly the same keys: its
// type is `Messages`, and i18n.test.ts checks keys and {placeholders}.
// A key ending in `.one` / `.other` is a plural pair (see `I18n.plural`).
// `dept.<code>`: short names of the departments by their code (assets/demo/
// departments.json); a code not listed here is shown as it is.
// `error.<code>`: the UI's words for an error code of a command (the Rust
// side's message is shown when a code has none).

export const zh = {
  "app.title": "综合监管 · 现场检查",
  "app.lang.switch": "English",
  "app.lang.switchLabel": "切换为英文界面",

  "taskList.title": "检查任务",
  "taskList.search.label": "搜索任务",
  "taskList.search.placeholder": "企业名称 / 统一社会信用代码 / 任务编号",
  "taskList.search.clear": "清除搜索",
  "taskList.filter.label": "按状态筛选",
  "taskList.filter.all": "全部",
  "taskList.filter.todo": "待检查",
  "taskList.filter.in_progress": "检查中",
  "taskList.filter.submitted": "已提交",
  "taskList.filter.returned": "已退回",
  "taskList.filter.done": "已办结",
  "taskList.count.one": "共 {count} 项任务",
  "taskList.count.other": "共 {count} 项任务",
  "taskList.loading": "正在加载任务…",
  "taskList.empty.title": "暂无检查任务",
  "taskList.empty.hint": "同步后，分配给您的任务会显示在这里。",
  "taskList.empty.filteredTitle": "没有符合条件的任务",
  "taskList.empty.filteredHint": "请更换搜索词或筛选条件。",
  "taskList.error.title": "无法加载任务列表",
  "taskList.error.code": "错误代码：{code}",
  "taskList.error.detail": "详细信息",
  "taskList.retry": "重试",

  "task.uscc": "统一社会信用代码",
  "task.departments": "检查部门",
  "task.due": "截止",
  "task.dirty": "未同步",
  "task.dirtyLabel": "本机有修改尚未同步到服务器",
  "task.overdue": "已逾期",
  "task.overdueDays.one": "已逾期 {days} 天",
  "task.overdueDays.other": "已逾期 {days} 天",
  "task.dueToday": "今天到期",
  "task.dueInDays.one": "还剩 {days} 天",
  "task.dueInDays.other": "还剩 {days} 天",

  "status.assigned": "待检查",
  "status.in_progress": "检查中",
  "status.submitted": "已提交",
  "status.returned": "已退回",
  "status.approved": "审核通过",
  "status.published": "已公示",
  "status.cancelled": "已取消",

  "dept.SCJG": "市场监管",
  "dept.STHJ": "生态环境",
  "dept.YJGL": "应急管理",
  "dept.XFJY": "消防救援",
  "dept.WSJK": "卫生健康",
  "dept.ZJ": "住房城乡建设",
  "dept.SW": "商务",
  "dept.GA": "公安",
  "dept.JT": "交通运输",

  "error.ipc.failed": "无法连接到应用后台。",
  "error.app.data_dir": "无法在本机创建数据目录，请检查存储空间。",
  "error.app.store_unavailable": "本机数据暂时不可用，请重启应用后重试。",
  "error.store.open": "无法打开本机数据库，请检查存储空间后重启应用。",
  "error.store.sqlite": "本机数据库出错，请重启应用；如仍出错请联系管理员。",
  "error.store.migration": "本机数据库升级失败，请联系管理员。",
} as const;

export type MessageKey = keyof typeof zh;
export type Messages = { readonly [K in MessageKey]: string };
