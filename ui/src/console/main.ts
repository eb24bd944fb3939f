// The supervisors' console: the API client, the language, the router, the shell.

import "element-plus/dist/index.css";
import "./console.css";
import { createApp } from "vue";
import App from "./App.vue";
import { ConsoleApi } from "./api/http";
import { createConsole, provideConsole } from "./context";
import { createI18n } from "./i18n";
import { createConsoleRouter } from "./router";

const storage = (() => {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
})();

const context = createConsole(new ConsoleApi(), createI18n(storage));
const router = createConsoleRouter(context);
const app = createApp(App);
provideConsole(app, context);
app.use(router);
app.mount("#app");
