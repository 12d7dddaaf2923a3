// Allure 3 report settings, read by `bin/report` (`allure awesome` finds allurerc.mjs in the working directory).
import { readFileSync } from "node:fs";

export default {
  name: "Ameide workspaces — spec 629",
  // The suite also writes these categories into every results directory (Allure 2 and Allure 3's classic
  // report read them there); Allure 3's awesome report reads them only from its configuration.
  categories: JSON.parse(readFileSync(new URL("./reporting/categories.json", import.meta.url), "utf-8")),
};
