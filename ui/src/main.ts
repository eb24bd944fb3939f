// Entry point of the web front end in the tablet app: picks the Backend, the
// language and the task screen, and starts the shell (App.vue).

// The tags of the shared record components (src/shared/record), with Element
// Plus's colour variables; the tablet uses no other Element Plus component.
import "element-plus/es/components/tag/style/css";
import "./styles.css";
import { createApp } from "vue";
import App from "./App.vue";
import { createBackend } from "./backend";
import { fieldloop } from "./deps";
import { I18n } from "./i18n";
import TaskScreen from "./screens/task/TaskScreen.vue";

const root = document.getElementById("app");
if (root === null) throw new Error("index.html has no #app element");

const backend = createBackend();
const i18n = new I18n(window.localStorage);

createApp(App, { taskScreen: TaskScreen })
  .use(fieldloop, { backend, i18n })
  .mount(root);
