// ESLint for the components' JavaScript (reactor_web/ui/frontend) and its unit tests (tests/frontend), with the
// React hooks rules. `npm run lint` (scripts/test.sh runs it).
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";

export default defineConfig([
  globalIgnores([".web/", ".venv/", ".venv-interop/", ".tools/", "assets/external/", "build/"]),
  {
    files: ["reactor_web/ui/frontend/**/*.{js,jsx}", "tests/frontend/**/*.js"],
    extends: [js.configs.recommended, reactHooks.configs.flat.recommended],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "module",
      parserOptions: { ecmaFeatures: { jsx: true } },
      globals: globals.browser,
    },
    rules: {
      // Hooks whose dependencies are wrong fail the check, like any other finding.
      "react-hooks/exhaustive-deps": "error",
    },
  },
]);
