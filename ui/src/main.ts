// Entry point of the web front end in the tablet app.

import "./styles.css";
import { startApp } from "./app";
import { createBackend } from "./backend";
import { I18n } from "./i18n";

const root = document.getElementById("app");
if (root === null) throw new Error("index.html has no #app element");

startApp(root, { backend: createBackend(), i18n: new I18n(window.localStorage) });
