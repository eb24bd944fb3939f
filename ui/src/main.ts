// Entry point of the web front end in the tablet app.

import "./styles.css";
import { startApp } from "./app";
import { createBackend } from "./backend";
import { I18n } from "./i18n";
import { taskScreen } from "./screens/task/taskScreen";

const root = document.getElementById("app");
if (root === null) throw new Error("index.html has no #app element");

const backend = createBackend();
const i18n = new I18n(window.localStorage);

startApp(root, {
  backend,
  i18n,
  openTask: (taskId, onBack) => taskScreen({ backend, i18n, taskId, onBack }),
});
